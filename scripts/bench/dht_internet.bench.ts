// BEP 44 gets on the simulated internet (sim_internet.ts: one-way latency 10–150 ms fixed per
// pair of hosts, 2 % loss, 30 % of routing-table contacts dead), 100,000 live nodes, virtual time.
// The same network, records, origins and targets twice, side by side: textbook α = 3 rounds, then
// the continuous lookup. Prints the time to the first valid record and to the end of the lookup
// (p50, p95), queries per get, and how many gets found their record.
//
// Each record is put by a random node first. Each get comes from another random node that has
// looked itself up once (as a client does when it starts), so its short timeout starts from the
// round trips it saw then. Gets run in batches of 50 at a time (they share nothing but the
// network, and virtual time does not depend on how many run at once).
// Run: node dist/scripts/bench/dht_internet.bench.js   or   deno run -A scripts/bench/dht_internet.bench.ts
// CHAT_BENCH_QUICK=1: 5,000 nodes and 100 gets (a smoke test of the script itself).
// CHAT_BENCH_MODES=rounds or =continuous: one of the two only.
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { ed25519 } from "@noble/curves/ed25519.js";
import { encode } from "../../src/bencode.ts";
import { bep44SignedBuffer } from "../../src/crypto/record.ts";
import type { PutItem } from "../../src/dht/item.ts";
import type { LookupMode } from "../../src/dht/lookup.ts";
import { seededRandom } from "../../src/dht/sim.ts";
import { createInternetSim, INTERNET } from "../../src/dht/sim_internet.ts";
import { fmt, log, median, pct, value } from "./_common.ts";

const quick = process.env["CHAT_BENCH_QUICK"] === "1";
const NODES = quick ? 5_000 : 100_000;
const GETS = quick ? 100 : 1_000;
const BATCH = 50;
/** CHAT_BENCH_MODES=continuous runs one pacing only (e.g. to time an older build alone). */
const MODES = (process.env["CHAT_BENCH_MODES"]?.split(",") ?? ["rounds", "continuous"]) as LookupMode[];

interface ModeRun { first: number[]; end: number[]; queries: number[]; found: number; setupS: number; runS: number }

function gc(): void {
  try {
    setFlagsFromString("--expose-gc");
    (runInNewContext("gc") as () => void)();
  } catch { /* no explicit GC on this runtime */ }
}

/** A distinct key per record (the shared seedOf repeats after 256). */
const keySeed = (i: number) => Uint8Array.from({ length: 32 }, (_, j) => (j < 4 ? (i >>> (8 * j)) & 255 : j));

function signedItems(): PutItem[] {
  return Array.from({ length: GETS }, (_, i) => {
    const v = value(i);
    return { k: ed25519.getPublicKey(keySeed(i)), seq: 1, v, sig: ed25519.sign(bep44SignedBuffer({ seq: 1, v: encode(v) }), keySeed(i)) };
  });
}

async function runMode(mode: LookupMode, items: PutItem[]): Promise<ModeRun> {
  gc();
  let t = performance.now();
  const sim = createInternetSim(NODES, { seed: 11, node: { lookup: mode } });
  const setupS = (performance.now() - t) / 1000;
  t = performance.now();
  const clock = sim.net.clock;
  const rnd = seededRandom(12);
  const pick = () => sim.nodes[Math.floor(rnd() * sim.nodes.length)]!;
  const out: ModeRun = { first: [], end: [], queries: [], found: 0, setupS, runS: 0 };
  try {
    for (let b = 0; b < GETS; b += BATCH) {
      const batch = items.slice(b, b + BATCH).map((item, j) => ({ item, i: b + j, putter: pick(), getter: pick() }));
      const puts = await clock.until(Promise.all(batch.map(({ item, putter }) => putter.put(item))));
      await clock.until(Promise.all(batch.map(({ getter }) => getter.findNode(getter.id))));
      await clock.until(Promise.all(batch.map(async ({ i, getter }, j) => {
        const t0 = clock.now();
        let first = Infinity;
        const res = await getter.get(puts[j]!.target, { validate: () => { first = Math.min(first, clock.now() - t0); return true; } });
        out.end.push(clock.now() - t0);
        out.first.push(first);
        out.queries.push(res.stats.queries);
        if (res.item && Buffer.from(res.item.v as Uint8Array).equals(Buffer.from(value(i)))) out.found++;
      })));
      log(`${mode}: ${Math.min(b + BATCH, GETS)} / ${GETS} gets`);
    }
  } finally {
    sim.destroy();
  }
  out.runS = (performance.now() - t) / 1000;
  return out;
}

const runtime = "Deno" in globalThis ? `Deno ${(globalThis as { Deno?: { version: { deno: string } } }).Deno!.version.deno}` : `Node ${process.versions.node}`;
const items = signedItems();
const results: [string, ModeRun][] = [];
for (const mode of MODES) {
  log(`simulated internet, ${NODES} nodes, ${mode} lookups`);
  results.push([mode === "rounds" ? "α = 3 in rounds (textbook Kademlia)" : "continuous (α = 3 among the k closest, short timeout)", await runMode(mode, items)]);
}
const [min, max] = INTERNET.latency;
console.log(`## BEP 44 get on the simulated internet (${runtime}${quick ? ", quick" : ""})\n`);
console.log(`${NODES.toLocaleString("en")} live nodes, one-way latency ${min}–${max} ms per pair of hosts, ${INTERNET.loss * 100} % loss, ${INTERNET.dead * 100} % of contacts dead; ${GETS.toLocaleString("en")} records, each put by a random node and got by another. Virtual time, ms.\n`);
console.log("| lookup | first valid record p50 / p95 | end of lookup p50 / p95 | queries per get p50 / p95 | record found | setup / run (s) |");
console.log("|---|--:|--:|--:|--:|--:|");
for (const [name, r] of results) {
  console.log(`| ${name} | ${fmt(median(r.first), 0)} / ${fmt(pct(r.first, 0.95), 0)} | ${fmt(median(r.end), 0)} / ${fmt(pct(r.end, 0.95), 0)} | ${median(r.queries)} / ${pct(r.queries, 0.95)} | ${(100 * r.found / GETS).toFixed(1)} % | ${r.setupS.toFixed(0)} / ${r.runS.toFixed(0)} |`);
}
