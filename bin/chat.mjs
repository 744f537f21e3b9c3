#!/usr/bin/env node
// npm entry point: the CLI bundled at build time (scripts/build.mjs; built by `npm ci` through the
// "prepare" script), so that a cold start loads a few files instead of hundreds.
import "../dist/cli/main.js";
