#!/usr/bin/env node
// `npm run attack`: the long versions of the attacks, each running CHAT_ATTACK_SECONDS (default
// 600) on Node: first the session-layer attacks against a real `chat listen` over loopback UDP
// (scripts/attack/run.ts, one markdown row each; CHAT_ATTACK=substr for a subset), then the DHT
// and identity-file suites (test/attack_*.test.ts of the DHT), one suite after the other, and a
// markdown table of their figures. `npm run attack -- table storage` runs a subset of the suites;
// CHAT_ATTACK_SECONDS=30 a short pass; --no-build runs the dist/ already built.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";

const seconds = process.env.CHAT_ATTACK_SECONDS ?? "600";
const noBuild = process.argv.includes("--no-build");
const only = process.argv.slice(2).filter((a) => a !== "--no-build");
const suites = readdirSync("dist/test").filter((f) => /^attack_.*\.test\.js$/.test(f) && (!only.length || only.some((o) => f.includes(o)))).sort();
if (!noBuild && spawnSync(process.execPath, ["scripts/build.mjs"], { stdio: "inherit" }).status !== 0) process.exit(1);
let failed = 0;
if (!only.length) {
  console.log(`\n=== session-layer attacks against chat listen: ${seconds} s each`);
  if (spawnSync(process.execPath, ["dist/scripts/attack/run.js"], { stdio: "inherit", env: { ...process.env, CHAT_ATTACK_SECONDS: seconds } }).status !== 0) failed++;
}
const rows = [];
for (const f of suites) {
  const name = f.replace(/\.test\.js$/, "");
  console.log(`\n=== ${name}: ${seconds} s per attack`);
  const env = { ...process.env, CHAT_TEST: name, CHAT_ATTACK_SECONDS: seconds, CHAT_ATTACK_REPORT: "1", NO_COLOR: "1" };
  const started = Date.now();
  const r = spawnSync(process.execPath, ["dist/test/all.js"], { env, encoding: "utf8", maxBuffer: 1 << 26, timeout: (Number(seconds) * 4 + 300) * 1000 });
  process.stdout.write(r.stdout ?? "");
  process.stderr.write(r.stderr ?? "");
  const ok = r.status === 0;
  if (!ok) failed++;
  for (const line of (r.stdout ?? "").split("\n")) {
    const m = line.match(/attack (\{.*\})/);
    if (m) rows.push({ ...JSON.parse(m[1]), passed: ok, wallSeconds: Math.round((Date.now() - started) / 1000) });
  }
}
console.log("\n| attack | passed | figures |\n|---|---|---|");
for (const { attack, passed, wallSeconds, ...figures } of rows) {
  console.log(`| ${attack} | ${passed ? "yes" : "NO"} | ${Object.entries(figures).map(([k, v]) => `${k} ${Array.isArray(v) ? v.join(" ") : v}`).join(", ")} |`);
}
process.exit(failed ? 1 : 0);
