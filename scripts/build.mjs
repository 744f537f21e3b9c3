#!/usr/bin/env node
// The npm build (dnt's registry is out of reach; for code that imports only node:* built-ins and
// npm packages tsc gives the same result): a clean dist/ with .js and .d.ts, relative `.ts`
// imports rewritten to `.js` (rewriteRelativeImportExtensions). Fails on any type error.
// Then the CLI that bin/chat.mjs runs, bundled by `deno bundle` (esbuild) into dist/cli/: a cold
// start on Node pays for every ESM file it loads (~200 for `chat send` unbundled), and one chunk
// per command keeps the others' code out of it.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

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

// The bundle gives its CommonJS dependencies (k-bucket, randombytes) a `require` made by
// node:module's createRequire, imported by every command: on Deno that import costs ~7 ms of each
// start. They require only built-ins, which `process.getBuiltinModule` hands out (Node ≥ 20.16,
// Deno 2); an older Node 20 still gets createRequire.
const SHIM = 'import { createRequire as __deno_internal_createRequire } from "node:module";\nvar __require = __deno_internal_createRequire(import.meta.url);';
const BUILTINS = "var __require = globalThis.process?.getBuiltinModule ? (id) => { const m = process.getBuiltinModule(id); " +
  "if (m === undefined) throw new Error(`Cannot require \"${id}\": the bundle loads only built-ins`); return m; } " +
  ': (await import("node:module")).createRequire(import.meta.url);';
const shimmed = readdirSync("dist/cli").map((f) => join("dist/cli", f)).filter((f) => readFileSync(f, "utf8").includes(SHIM));
if (shimmed.length !== 1) fail(`expected deno bundle's createRequire shim in one chunk, found it in ${shimmed.length}`);
writeFileSync(shimmed[0], readFileSync(shimmed[0], "utf8").replace(SHIM, BUILTINS));
for (const file of ["dist/mod.js", "dist/mod.d.ts", "dist/src/main.js", "dist/cli/main.js"]) {
  if (!existsSync(file)) fail(`${file} is missing`);
}
