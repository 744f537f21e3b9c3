// Robustness: 100,000 random and mutated datagrams into one node, then a few thousand over real
// UDP. No crash, no internal error, bounded storage and memory, and the node still answers.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { LIMITS } from "../src/dht/constants.ts";
import { seededRandom } from "../src/dht/sim.ts";
import { createTestnet, startNode } from "../src/dht/testnet.ts";
import { UdpTransport } from "../src/dht/udp.ts";
import { fuzzNode } from "./_dht_fuzz.ts";
import { encode } from "../src/bencode.ts";

const test = suite("dht fuzz");

test("100,000 datagrams into the handler: no crash, bounded state, still answering", async () => {
  const seed = Number(process.env["CHAT_FUZZ_SEED"] ?? 1);
  const r = await fuzzNode(100_000, seed);
  const s = r.stats;
  assert.is(s.dropped.internal, 0, `an exception escaped a handler (seed ${seed})`);
  assert.ok(r.alive, "answers a ping afterwards");
  assert.ok(s.dropped.malformed > 20_000, `malformed ${s.dropped.malformed}`);
  assert.ok(r.replies > 30_000, `replies ${r.replies}`);
  assert.ok((s.received["put"] ?? 0) > 1000 && s.items > 0, `puts ${s.received["put"]}, stored ${s.items}`);
  assert.ok(s.items <= LIMITS.items && s.torrents <= LIMITS.torrents);
  assert.ok(r.heapGrowth < 64 * 2 ** 20, `heap grew ${Math.round(r.heapGrowth / 2 ** 20)} MiB`);
});

test("3,000 random datagrams over UDP, then the testnet still serves lookups", async () => {
  const net = await createTestnet(8);
  const sock = await UdpTransport.bind({ host: "127.0.0.1" });
  const client = await startNode({ host: "127.0.0.1", bootstrap: net.bootstrap });
  try {
    const rnd = seededRandom(9);
    for (let i = 0; i < 3000; i++) {
      const to = net.nodes[i % net.nodes.length]!.address();
      const junk = i % 2
        ? Uint8Array.from({ length: Math.floor(rnd() * 200) }, () => Math.floor(rnd() * 256))
        : encode({ t: "xx", y: "q", q: "get", a: { id: new Uint8Array(20), target: Uint8Array.from({ length: Math.floor(rnd() * 40) }, () => 7) } });
      sock.send(junk, to);
      if (i % 250 === 249) await new Promise((r) => setTimeout(r, 5));
    }
    // Let the nodes drain their socket queues (a loaded machine may still be working through them).
    await new Promise((r) => setTimeout(r, 250));
    await client.bootstrap();
    const put = await client.put({ v: "still here" });
    assert.is(put.stored.length, 8);
    for (const node of net.nodes) assert.is(node.stats().dropped.internal, 0);
  } finally {
    client.destroy();
    sock.close();
    net.destroy();
  }
});

test.run();
