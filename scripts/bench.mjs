#!/usr/bin/env node
// `npm run bench`: every scripts/bench/*.bench.ts, on Node (compiled) then on Deno (from source),
// each printing its own markdown table. CHAT_BENCH=substr runs a subset.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";

const filter = process.env.CHAT_BENCH ?? "";
const benches = readdirSync("scripts/bench").filter((f) => f.endsWith(".bench.ts") && f.includes(filter)).sort();
if (spawnSync(process.execPath, ["scripts/build.mjs"], { stdio: "inherit" }).status !== 0) process.exit(1);
let failed = 0;
for (const f of benches) {
  const js = `dist/scripts/bench/${f.replace(/\.ts$/, ".js")}`;
  for (const [cmd, args] of [[process.execPath, [js]], ["node_modules/.bin/deno", ["run", "-A", `scripts/bench/${f}`]]]) {
    console.log(`\n### ${f} on ${cmd.includes("deno") ? "Deno" : "Node"}\n`);
    const r = spawnSync(cmd, args, { stdio: "inherit", timeout: 15 * 60_000 });
    if (r.status !== 0) failed++;
  }
}
process.exit(failed ? 1 : 0);
