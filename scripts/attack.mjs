#!/usr/bin/env node
// `npm run attack`: builds, then runs scripts/attack/run.ts compiled, on Node. Each attack lasts
// CHAT_ATTACK_SECONDS (default 600, the long version); CHAT_ATTACK=substr runs a subset.
import { spawnSync } from "node:child_process";

if (spawnSync(process.execPath, ["scripts/build.mjs"], { stdio: "inherit" }).status !== 0) process.exit(1);
const r = spawnSync(process.execPath, ["dist/scripts/attack/run.js"], { stdio: "inherit" });
process.exit(r.status ?? 1);
