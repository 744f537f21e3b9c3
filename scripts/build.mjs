#!/usr/bin/env node
// The npm build (dnt's registry is out of reach; for code that imports only node:* built-ins and
// npm packages tsc gives the same result): a clean dist/ with .js and .d.ts, relative `.ts`
// imports rewritten to `.js` (rewriteRelativeImportExtensions). Fails on any type error.
// Then the CLI that bin/chat.mjs runs, bundled by `deno bundle` (esbuild) into dist/cli/: a cold
// start on Node pays for every ESM file it loads (~200 for `chat send` unbundled), and one chunk
// per command keeps the others' code out of it.
import { spawnSync } from "node:child_process";
import { existsSync, rmSync } from "node:fs";

const fail = (message) => {
  console.error(`build: ${message}`);
  process.exit(1);
};

// tsc never deletes the output of a source that is gone: start from nothing.
rmSync("dist", { recursive: true, force: true });
const tsc = spawnSync("node_modules/.bin/tsc", ["-p", "."], { stdio: "inherit" });
if (tsc.status !== 0) fail("tsc failed (type errors above)");
const bundle = spawnSync("node_modules/.bin/deno", ["bundle", "--quiet", "--platform", "deno", "--code-splitting", "--outdir", "dist/cli", "src/main.ts"], { stdio: "inherit" });
if (bundle.status !== 0) fail(`deno bundle failed${bundle.error ? `: ${bundle.error.message}` : ""}`);
for (const file of ["dist/mod.js", "dist/mod.d.ts", "dist/src/main.js", "dist/cli/main.js"]) {
  if (!existsSync(file)) fail(`${file} is missing`);
}
