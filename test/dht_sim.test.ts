// The DHT under a hostile network, in the simulator: 20 % loss with reordering and duplication,
// then 30 % of the nodes killed. Gets must still succeed at least 99 % of the time.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import type { DhtNode } from "../src/dht/node.ts";
import { seededRandom } from "../src/dht/sim.ts";
import { createSimnet, type Simnet } from "../src/dht/testnet.ts";
import { bytes, signed } from "./_dht.ts";

const test = suite("dht simulated network");
const ITEMS = 100;
const node = { timeout: 1000, slowAfter: 250 };

/** Puts ITEMS mutable items from random live nodes; gets each from another; returns the success rate. */
async function putThenGet(sim: Simnet, rnd: () => number, live: DhtNode[]) {
  const pick = () => live[Math.floor(rnd() * live.length)]!;
  const items = Array.from({ length: ITEMS }, (_, i) => signed(Uint8Array.from({ length: 32 }, (_, j) => (i * 31 + j) & 255), 1, bytes(`item ${i}`)));
  const puts = await sim.net.clock.until(Promise.all(items.map((item) => pick().put(item))));
  const gets = await sim.net.clock.until(Promise.all(puts.map((p) => pick().get(p.target))));
  const ok = gets.filter((g, i) => g.item && Buffer.from(g.item.v as Uint8Array).toString() === `item ${i}`).length;
  return { puts, gets, rate: ok / ITEMS };
}

test("20 % loss, reordering and duplication: ≥ 99 % of gets succeed", async () => {
  const sim = createSimnet(1000, { seed: 7, latency: [5, 50], loss: 0.2, reorder: 0.2, duplicate: 0.1, node });
  try {
    const { puts, gets, rate } = await putThenGet(sim, seededRandom(1), sim.nodes);
    assert.ok(rate >= 0.99, `success ${rate}`);
    const stored = puts.reduce((n, p) => n + p.stored.length, 0) / ITEMS;
    assert.ok(stored >= 4, `items reached ${stored} nodes on average`);
    assert.ok(sim.net.stats.lost > 1000 && sim.net.stats.duplicated > 500);
    const queries = gets.map((g) => g.stats.queries).sort((a, b) => a - b);
    assert.ok(queries[ITEMS >> 1]! < 40, `median get: ${queries[ITEMS >> 1]} queries`);
  } finally {
    sim.destroy();
  }
});

test("30 % of the nodes killed: ≥ 99 % of gets of republished items succeed", async () => {
  const sim = createSimnet(1000, { seed: 8, latency: [5, 50], node });
  try {
    const rnd = seededRandom(2);
    await putThenGet(sim, rnd, sim.nodes);
    const dead = new Set(sim.net.churn(0.3));
    assert.ok(dead.size > 250 && dead.size < 350, `${dead.size} killed`);
    const live = sim.nodes.filter((n) => !dead.has(n.address().host));
    const { rate, gets } = await putThenGet(sim, rnd, live);
    assert.ok(rate >= 0.99, `success ${rate}`);
    assert.ok(gets.some((g) => g.stats.failures > 0), "lookups met dead nodes and routed around them");
  } finally {
    sim.destroy();
  }
});

test.run();
