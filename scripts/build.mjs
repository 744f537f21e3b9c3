#!/usr/bin/env node
// The npm build (dnt's registry is out of reach; for code that imports only node:* built-ins and
// npm packages tsc gives the same result): a clean dist/ with .js and .d.ts, relative `.ts`
// imports rewritten to `.js` (rewriteRelativeImportExtensions). Fails on any type error.
import { spawnSync } from "node:child_process";
import { existsSync, rmSync } from "node:fs";

// tsc never deletes the output of a source that is gone: start from nothing.
rmSync("dist", { recursive: true, force: true });
const tsc = spawnSync("node_modules/.bin/tsc", ["-p", "."], { stdio: "inherit" });
if (tsc.status !== 0) {
  console.error("build: tsc failed (type errors above)");
  process.exit(1);
}
for (const file of ["dist/mod.js", "dist/mod.d.ts", "dist/src/main.js"]) {
  if (!existsSync(file)) {
    console.error(`build: ${file} is missing`);
    process.exit(1);
  }
}
