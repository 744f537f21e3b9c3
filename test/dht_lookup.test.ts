// The lookup (lookup.ts) on the simulated internet (sim_internet.ts: per-pair latency 10–150 ms,
// 2 % loss, 30 % of contacts dead): both pacings converge on the true closest nodes, the
// continuous one sooner; gets find their records; the short timeout follows RFC 6298.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import type { LookupMode } from "../src/dht/lookup.ts";
import { MIN_TIMEOUT, RttEstimator } from "../src/dht/rtt.ts";
import { seededRandom } from "../src/dht/sim.ts";
import { createInternetSim } from "../src/dht/sim_internet.ts";
import { trueClosest } from "../src/dht/testnet.ts";
import { compareDistance } from "../src/dht/table.ts";
import { bytes, signed } from "./_dht.ts";

const test = suite("dht lookup");
const NODES = 3000;
const LOOKUPS = 40;
const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

async function findNodes(mode: LookupMode, loss?: number) {
  const sim = createInternetSim(NODES, { seed: 5, node: { lookup: mode }, ...(loss === undefined ? {} : { loss }) });
  try {
    const rnd = seededRandom(6);
    let closest = 0, allK = 0; // lookups that found the true closest; true k closest found, summed
    const ms: number[] = [];
    for (let i = 0; i < LOOKUPS; i++) {
      const from = sim.nodes[Math.floor(rnd() * NODES)]!;
      const target = Uint8Array.from({ length: 20 }, () => Math.floor(rnd() * 256));
      const res = await sim.net.clock.until(from.findNode(target));
      ms.push(res.stats.ms);
      if (res.nodes[0] && same(res.nodes[0].id, trueClosest(sim.sorted, target).id)) closest++;
      // The true k closest live nodes (our own id aside: a lookup never lists itself).
      const truth = sim.sorted.filter((c) => !same(c.id, from.id)).sort((a, b) => compareDistance(a.id, b.id, target)).slice(0, 8);
      allK += truth.filter((t) => res.nodes.some((n) => same(n.id, t.id))).length;
      // Results are sorted by distance and hold no dead contact.
      for (let j = 1; j < res.nodes.length; j++) assert.ok(compareDistance(res.nodes[j - 1]!.id, res.nodes[j]!.id, target) < 0);
      assert.ok(res.nodes.every((n) => !n.host.startsWith("10.128.")), "a dead contact among the results");
    }
    return { closest, allK, median: median(ms) };
  } finally {
    sim.destroy();
  }
}

test("with 30 % dead contacts and no loss, every lookup finds the true closest node", async () => {
  const { closest, allK } = await findNodes("continuous", 0);
  assert.is(closest, LOOKUPS);
  assert.ok(allK >= LOOKUPS * 7.5, `${allK / LOOKUPS} of the true 8 closest on average`);
});

test("under 2 % loss too, continuous and rounds lookups converge; continuous is faster", async () => {
  const continuous = await findNodes("continuous");
  const rounds = await findNodes("rounds");
  if (process.env["CHAT_TEST_VERBOSE"]) console.log({ continuous, rounds });
  // A node whose query or answer was lost is not asked again (one query per address and lookup):
  // about 4 % of nodes are lost to a lookup that way, the true closest among them.
  assert.ok(continuous.closest >= LOOKUPS * 0.9, `continuous: true closest ${continuous.closest} / ${LOOKUPS}`);
  assert.ok(rounds.closest >= LOOKUPS * 0.9, `rounds: true closest ${rounds.closest} / ${LOOKUPS}`);
  assert.ok(continuous.allK >= LOOKUPS * 7, `continuous: ${continuous.allK / LOOKUPS} of the true 8 closest on average`);
  assert.ok(continuous.median * 2 < rounds.median, `median ${continuous.median} ms against ${rounds.median} ms in rounds`);
});

test("gets find their records under loss and dead contacts", async () => {
  const sim = createInternetSim(NODES, { seed: 7 });
  try {
    const rnd = seededRandom(8);
    const pick = () => sim.nodes[Math.floor(rnd() * NODES)]!;
    const items = Array.from({ length: 30 }, (_, i) => signed(new Uint8Array(32).fill(i + 1), 1, `record ${i}`));
    const puts = await sim.net.clock.until(Promise.all(items.map((item) => pick().put(item))));
    const gets = await sim.net.clock.until(Promise.all(puts.map((p) => pick().get(p.target))));
    const found = gets.filter((g, i) => g.item && same(g.item.v as Uint8Array, bytes(`record ${i}`))).length;
    assert.ok(found >= 29, `${found} / 30 found`);
    assert.ok(gets.some((g) => g.stats.failures > 0), "lookups met dead contacts");
  } finally {
    sim.destroy();
  }
});

test("the short timeout: the cap before any answer, then SRTT + 4·RTTVAR (RFC 6298) within [MIN_TIMEOUT, cap]", () => {
  const rtt = new RttEstimator();
  assert.is(rtt.timeout(1000), 1000);
  rtt.sample(100); // SRTT 100, RTTVAR 50
  assert.is(rtt.timeout(1000), 300);
  rtt.sample(200); // RTTVAR 50 + (100 − 50) / 4 = 62.5, SRTT 100 + 100 / 8 = 112.5
  assert.is(rtt.timeout(1000), 112.5 + 4 * 62.5);
  assert.is(rtt.timeout(200), 200);
  const fast = new RttEstimator();
  for (let i = 0; i < 50; i++) fast.sample(0);
  assert.is(fast.timeout(1000), MIN_TIMEOUT);
});

test.run();
