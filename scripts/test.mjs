#!/usr/bin/env node
// The test command: type-check and build with tsc, then run every suite on Node (compiled)
// and on Deno (from source). Ends with one line "N passed, N failed" over both runtimes.
import { spawnSync } from "node:child_process";

const env = { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" };
const strip = (s) => s.replace(/\x1b\[[0-9;]*m/g, "");

function run(label, cmd, args) {
  console.log(`\n=== ${label}: ${cmd} ${args.join(" ")}`);
  const r = spawnSync(cmd, args, { stdio: ["ignore", "pipe", "inherit"], env, encoding: "utf8", maxBuffer: 1 << 28, timeout: 9 * 60_000 });
  const out = strip(r.stdout ?? "");
  process.stdout.write(out);
  const num = (name) => Number(out.match(new RegExp(`${name}:\\s+(\\d+)`))?.[1] ?? NaN);
  const total = num("Total"), passed = num("Passed"), skipped = num("Skipped");
  const ok = r.status === 0;
  if (Number.isNaN(total)) return { label, passed: 0, failed: 1, skipped: 0, ok: false };
  const failed = total - passed - skipped + (ok || total - passed - skipped > 0 ? 0 : 1);
  return { label, passed, failed, skipped, ok: ok && failed === 0 };
}

if (spawnSync(process.execPath, ["scripts/build.mjs"], { stdio: "inherit" }).status !== 0) {
  console.log("\n0 passed, 1 failed");
  process.exit(1);
}
const only = process.argv.slice(2);
const results = [];
if (!only.length || only.includes("node")) results.push(run("node", process.execPath, ["dist/test/all.js"]));
if (!only.length || only.includes("deno")) results.push(run("deno", "node_modules/.bin/deno", ["run", "-A", "test/all.ts"]));

console.log("");
for (const r of results) console.log(`${r.label}: ${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped`);
const passed = results.reduce((a, r) => a + r.passed, 0);
const failed = results.reduce((a, r) => a + r.failed, 0);
console.log(`${passed} passed, ${failed} failed`);
process.exit(results.every((r) => r.ok) ? 0 : 1);
