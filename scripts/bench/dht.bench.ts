// DHT benchmark, side by side in one run (prints markdown tables):
//  1. BEP 44 get on loopback swarms of 100 and 500 nodes: ours against bittorrent-dht on a swarm
//     of the same size (latency median and p95, queries per get, success).
//  2. Lookups on the simulator at 10,000 and 100,000 nodes: queries and rounds per lookup, how
//     often the true closest node is found, memory per node.
// Run: node dist/scripts/bench/dht.bench.js   or   deno run -A scripts/bench/dht.bench.ts
// CHAT_BENCH_QUICK=1 runs smaller sizes (a smoke test of the script itself).
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { seededRandom } from "../../src/dht/sim.ts";
import { createSimnet, createTestnet, startNode, trueClosest } from "../../src/dht/testnet.ts";
import { fmt, log, median, newRun, pct, putItem, type Run, theirsGets, timedGet } from "./_common.ts";

const quick = process.env["CHAT_BENCH_QUICK"] === "1";
const SWARMS = quick ? [30] : [100, 500];
const SIMS = quick ? [2000] : [10_000, 100_000];
const GETS = quick ? 20 : 100;
const LOOKUPS = quick ? 50 : 500;



async function oursGets(n: number): Promise<Run> {
  const net = await createTestnet(n);
  const putter = await startNode({ host: "127.0.0.1", bootstrap: net.bootstrap });
  const getter = await startNode({ host: "127.0.0.1", bootstrap: net.bootstrap });
  try {
    await putter.bootstrap();
    await getter.bootstrap();
    const targets: Uint8Array[] = [];
    for (let i = 0; i < GETS; i++) targets.push(await putItem(putter, i));
    const run = newRun();
    for (const [i, target] of targets.entries()) await timedGet(getter, target, i, run);
    return run;
  } finally {
    putter.destroy();
    getter.destroy();
    net.destroy();
  }
}

function gc(): void {
  try {
    setFlagsFromString("--expose-gc");
    (runInNewContext("gc") as () => void)();
  } catch { /* no explicit GC on this runtime: memory figures include garbage */ }
}

interface SimRun { n: number; setupS: number; bytesPerNode: number; queries: number[]; rounds: number[]; found: number; lookups: number }

async function simLookups(n: number): Promise<SimRun> {
  gc();
  const before = process.memoryUsage().heapUsed;
  const t = performance.now();
  const sim = createSimnet(n, { seed: n, latency: [10, 100] });
  const setupS = (performance.now() - t) / 1000;
  gc();
  const bytesPerNode = (process.memoryUsage().heapUsed - before) / n;
  const rnd = seededRandom(n + 1);
  const run: SimRun = { n, setupS, bytesPerNode, queries: [], rounds: [], found: 0, lookups: LOOKUPS };
  for (let i = 0; i < LOOKUPS; i++) {
    const from = sim.nodes[Math.floor(rnd() * n)]!;
    const target = Uint8Array.from({ length: 20 }, () => Math.floor(rnd() * 256));
    const res = await sim.net.clock.until(from.findNode(target));
    run.queries.push(res.stats.queries);
    run.rounds.push(res.stats.rounds);
    const best = trueClosest(sim.sorted, target);
    if (res.nodes[0] && Buffer.from(res.nodes[0].id).equals(Buffer.from(best.id))) run.found++;
  }
  sim.destroy();
  return run;
}

const runtime = "Deno" in globalThis ? `Deno ${(globalThis as { Deno?: { version: { deno: string } } }).Deno!.version.deno}` : `Node ${process.versions.node}`;
console.log(`## DHT benchmark (${runtime}${quick ? ", quick" : ""})\n`);
console.log(`BEP 44 mutable get on a loopback swarm, ${GETS} items, one get at a time from a fresh client; same process, same machine.\n`);
console.log("| swarm | implementation | median ms | p95 ms | queries per get (median) | success |");
console.log("|---:|---|---:|---:|---:|---:|");
for (const n of SWARMS) {
  log(`swarm of ${n}: ours`);
  const ours = await oursGets(n);
  log(`swarm of ${n}: bittorrent-dht`);
  const theirs = await theirsGets(n, GETS);
  const row = (name: string, r: Run) =>
    console.log(`| ${n} | ${name} | ${fmt(median(r.ms), 2)} | ${fmt(pct(r.ms, 0.95), 2)} | ${median(r.queries)} | ${(100 * r.ok / GETS).toFixed(0)} % |`);
  row("chat", ours);
  row("bittorrent-dht 11", theirs);
  console.log(`| ${n} | ratio chat / bittorrent-dht | ${fmt(median(ours.ms) / median(theirs.ms), 2)} | ${fmt(pct(ours.ms, 0.95) / pct(theirs.ms, 0.95), 2)} | ${fmt(median(ours.queries) / median(theirs.queries), 2)} | |`);
}

console.log(`\nfind_node lookups on the simulator (virtual time, one-way latency 10–100 ms, k = 8, α = 3), ${LOOKUPS} random targets from random nodes.\n`);
console.log("| nodes | queries median | queries p95 | rounds median | rounds p95 | true closest found | heap per node | setup |");
console.log("|---:|---:|---:|---:|---:|---:|---:|---:|");
for (const n of SIMS) {
  log(`simulator, ${n} nodes`);
  const r = await simLookups(n);
  console.log(`| ${n.toLocaleString("en")} | ${median(r.queries)} | ${pct(r.queries, 0.95)} | ${median(r.rounds)} | ${pct(r.rounds, 0.95)} | ${(100 * r.found / r.lookups).toFixed(1)} % | ${(r.bytesPerNode / 1024).toFixed(1)} KiB | ${r.setupS.toFixed(1)} s |`);
}
