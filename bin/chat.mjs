#!/usr/bin/env node
// npm entry point: the compiled CLI (built by `npm ci` through the "prepare" script).
import "../dist/src/main.js";
