import { createSimnet, trueClosest } from "../dist/src/dht/testnet.js";
const n = Number(process.argv[2] ?? 1000);
let t = performance.now();
const m0 = process.memoryUsage().heapUsed;
const sim = createSimnet(n, { seed: 3, latency: [10, 50] });
console.log("setup ms", Math.round(performance.now() - t), "heap/node", Math.round((process.memoryUsage().heapUsed - m0) / n), "table size", sim.nodes[0].table.size);
t = performance.now();
let found = 0, q = [], r = [];
const L = 200;
for (let i = 0; i < L; i++) {
  const from = sim.nodes[Math.floor(Math.random() * n)];
  const target = crypto.getRandomValues(new Uint8Array(20));
  const res = await sim.net.clock.until(from.findNode(target));
  const best = trueClosest(sim.sorted, target);
  if (res.nodes[0] && Buffer.compare(res.nodes[0].id, best.id) === 0) found++;
  q.push(res.stats.queries); r.push(res.stats.rounds);
}
const med = (a) => a.sort((x, y) => x - y)[a.length >> 1];
console.log("lookup ms", Math.round(performance.now() - t), "found", found / L, "queries med", med(q), "rounds med", med(r), "virtual", sim.net.clock.now());
sim.destroy();
