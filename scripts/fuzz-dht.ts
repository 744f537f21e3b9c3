// Long DHT fuzz run: 10 million random and mutated datagrams into one node (the same generator as
// test/dht_fuzz.test.ts, in rounds of 1 million with different seeds).
// Run: node dist/scripts/fuzz-dht.js [COUNT] [SEED]   or   deno run -A scripts/fuzz-dht.ts [COUNT] [SEED]
import { fuzzNode } from "../test/_dht_fuzz.ts";

const total = Number(process.argv[2] ?? 10_000_000);
const firstSeed = Number(process.argv[3] ?? Date.now() % 1_000_000);
const ROUND = 1_000_000;
const started = performance.now();
let failed = false;
for (let done = 0, seed = firstSeed; done < total; done += ROUND, seed++) {
  const n = Math.min(ROUND, total - done);
  const r = await fuzzNode(n, seed, (i) => {
    if (i % 262_144 < 4096) process.stderr.write(`\r${done + i} datagrams`);
  });
  const s = r.stats;
  const ok = s.dropped.internal === 0 && r.alive;
  failed ||= !ok;
  process.stderr.write("\r");
  console.log(JSON.stringify({
    seed, datagrams: n, replies: r.replies, malformed: s.dropped.malformed, limited: s.dropped.limited,
    internal: s.dropped.internal, items: s.items, torrents: s.torrents, alive: r.alive,
    heapGrowthMiB: Math.round(r.heapGrowth / 2 ** 20), ok,
  }));
}
console.log(JSON.stringify({ total, seconds: Math.round((performance.now() - started) / 1000), ok: !failed }));
process.exit(failed ? 1 : 0);
