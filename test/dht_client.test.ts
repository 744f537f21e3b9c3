// The client side on a simulated network of 1,000 nodes (virtual time): lookups, BEP 44 get/put,
// peers, state, bootstrap errors.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { encode } from "../src/bencode.ts";
import { mutableTarget } from "../src/crypto/record.ts";
import { parseMessage } from "../src/dht/krpc.ts";
import { DhtNode } from "../src/dht/node.ts";
import { SimNetwork } from "../src/dht/sim.ts";
import { compareDistance } from "../src/dht/table.ts";
import { createSimnet, trueClosest } from "../src/dht/testnet.ts";
import { ChatError } from "../src/errors.ts";
import { bytes, hex, signed } from "./_dht.ts";

const test = suite("dht client");
const sim = createSimnet(1000, { seed: 21, latency: [5, 40] });
const run = <T>(p: Promise<T>) => sim.net.clock.until(p);
const node = (i: number) => sim.nodes[i]!;
const seed = (n: number) => new Uint8Array(32).fill(n);
const randomTarget = () => crypto.getRandomValues(new Uint8Array(20));

test("find_node converges on the true closest node and (nearly always) the true k closest", async () => {
  let overlap = 0;
  for (let i = 0; i < 50; i++) {
    const target = randomTarget();
    const res = await run(node(i).findNode(target));
    // A lookup never lists the node that makes it: the truth is everyone else.
    const others = sim.sorted.filter((c) => hex(c.id) !== hex(node(i).id));
    const truth = others.sort((a, b) => compareDistance(a.id, b.id, target)).slice(0, 8).map((c) => hex(c.id));
    const found = res.nodes.map((n) => hex(n.id));
    assert.is(found[0], truth[0], "the true closest node");
    const common = found.filter((f) => truth.includes(f)).length;
    assert.ok(common >= 7, `${common} of the true 8 closest`);
    overlap += common;
    assert.ok(res.stats.queries <= 24, `${res.stats.queries} queries`);
  }
  assert.ok(overlap / 50 >= 7.8, `on average ${overlap / 50} of the true 8 closest`);
  assert.equal(trueClosest(sim.sorted, sim.sorted[5]!.id), sim.sorted[5]);
});

test("mutable put then get, with and without salt; the item's bytes can be re-verified", async () => {
  for (const salt of [undefined, bytes("channel")]) {
    const item = signed(seed(3), 7, bytes("hello"), salt);
    const put = await run(node(10).put(item));
    assert.is(put.stored.length, 8);
    assert.equal(put.target, mutableTarget(item.k!, salt));
    const got = await run(node(500).get(put.target, salt ? { salt } : {}));
    assert.equal(got.item?.v, bytes("hello"));
    assert.is(got.item?.seq, 7);
    assert.equal(got.item?.raw, encode(bytes("hello")));
    assert.equal(got.item?.sig, item.sig);
    assert.ok(got.from.length >= 1 && got.nodes.length === 8);
  }
});

test("immutable put then get ends at the first valid value", async () => {
  const put = await run(node(20).put({ v: bytes("immutable value") }));
  assert.is(put.stored.length, 8);
  const got = await run(node(700).get(put.target));
  assert.equal(got.item?.v, bytes("immutable value"));
  assert.is(got.from.length, 1);
  assert.is(got.item?.seq, undefined);
});

test("the highest valid seq wins when nodes disagree", async () => {
  const first = await run(node(30).put(signed(seed(4), 1, "one")));
  // Three of the storing nodes miss the update and keep seq 1.
  const stale = first.stored.slice(0, 3).map((n) => n.host);
  for (const h of stale) sim.net.setDown(h, true);
  const second = await run(node(31).put(signed(seed(4), 2, "two")));
  for (const h of stale) sim.net.setDown(h, false);
  assert.ok(second.stored.length >= 5);
  const got = await run(node(800).get(first.target));
  assert.is(got.item?.seq, 2);
  assert.equal(got.item?.v, bytes("two"));
});

test("a mutable get with `first` ends at the first valid item; without it, it asks on for higher seqs", async () => {
  const put = await run(node(40).put(signed(seed(6), 1, "first")));
  assert.ok(put.stored.length >= 5);
  const first = await run(node(900).get(put.target, { first: true }));
  const full = await run(node(901).get(put.target));
  assert.equal(first.item?.v, bytes("first"));
  assert.is(first.from.length, 1, "stopped at the first node that had it");
  assert.ok(full.from.length > 1, `the full get heard ${full.from.length} nodes with it`);
  assert.ok(first.stats.queries < full.stats.queries, `${first.stats.queries} queries against ${full.stats.queries}`);
});

test("CAS and old seq refusals come back as errors", async () => {
  const item = signed(seed(5), 10, "ten");
  await run(node(40).put(item));
  const cas = await run(node(41).put(signed(seed(5), 11, "eleven", undefined, 9)));
  assert.is(cas.stored.length, 0);
  assert.ok(cas.errors.length >= 6 && cas.errors.every((e) => e.code === 301), JSON.stringify(cas.errors.map((e) => e.code)));
  const old = await run(node(42).put(signed(seed(5), 9, "nine")));
  assert.ok(old.errors.length >= 6 && old.errors.every((e) => e.code === 302));
  await assert.not.throws(() => node(1).put({ ...item, sig: new Uint8Array(64) }).catch(() => {}));
  const badSig = await node(1).put({ ...item, sig: new Uint8Array(64) }).catch((e) => e);
  assert.instance(badSig, RangeError, "a put that does not verify is refused before any query");
});

test("validate() rejects items and the lookup goes on; forged answers are dropped", async () => {
  const item = signed(seed(6), 3, "secret");
  const { target } = await run(node(50).put(item));
  const refused = await run(node(51).get(target, { validate: () => false }));
  assert.is(refused.item, null);
  assert.ok(refused.rejected >= 1);
  // A liar answers every get with a forged item; a fresh client bootstraps through it.
  const liar = sim.net.transport();
  const liarId = target.slice();
  liarId[19] = liarId[19]! ^ 1;
  liar.onMessage((buf, from) => {
    const m = parseMessage(buf);
    if (m?.y !== "q") return;
    const forged = { id: liarId, token: bytes("tok"), k: item.k, seq: 99, sig: new Uint8Array(64), v: bytes("forged") };
    liar.send(encode({ t: m.t, y: "r", r: forged }), from);
  });
  const client = new DhtNode({
    transport: sim.net.transport(), clock: sim.net.clock, maintenance: false,
    bootstrap: [liar.address(), node(53).address()],
  });
  const got = await run(client.get(target));
  assert.equal(got.item?.v, bytes("secret"));
  assert.is(got.item?.seq, 3);
  assert.is(got.rejected, 1, "the forgery was counted");
  client.destroy();
  liar.close();
});

test("announce_peer then get_peers from elsewhere", async () => {
  const ih = randomTarget();
  const ann = await run(node(60).announcePeer(ih, 7777));
  assert.is(ann.announced.length, 8);
  const found = await run(node(900).getPeers(ih));
  assert.equal(found.peers, [{ host: node(60).address().host, port: 7777 }]);
  const implied = await run(node(61).announcePeer(ih));
  assert.is(implied.announced.length, 8);
  const both = await run(node(901).getPeers(ih));
  assert.is(both.peers.length, 2, "the implied port is the DHT port");
});

test("the external address is the majority of BEP 42 ip fields", () => {
  assert.equal(node(60).externalAddress(), node(60).address());
});

test("a saved table restores id and contacts; bootstrap through it needs no router", async () => {
  const state = JSON.parse(JSON.stringify(node(70).toJSON()));
  const fresh = new DhtNode({ transport: sim.net.transport(), clock: sim.net.clock, state, bootstrap: false, maintenance: false });
  assert.equal(fresh.id, node(70).id);
  assert.is(fresh.table.size, 0);
  const res = await run(fresh.bootstrap());
  assert.ok(res.stats.responses >= 8);
  assert.ok(fresh.table.size >= 8);
  fresh.destroy();
});

test("bootstrap with nobody answering is a ChatError.network (exit 3)", async () => {
  const net = new SimNetwork();
  const lonely = new DhtNode({ transport: net.transport(), clock: net.clock, bootstrap: [{ host: "10.200.0.1", port: 6881 }], timeout: 500 });
  const err = await net.clock.until(lonely.bootstrap().catch((e) => e));
  assert.instance(err, ChatError);
  assert.is(err.exitCode, 3);
  assert.match(err.message, /No bootstrap node answered/);
  lonely.destroy();
  assert.is(net.clock.pending, 0, "destroy leaves no timer behind");
});

test("get of a target nobody stored: null item, the k closest still listed", async () => {
  const got = await run(node(80).get(randomTarget()));
  assert.is(got.item, null);
  assert.is(got.nodes.length, 8);
  assert.is(got.rejected, 0);
});

test.after(() => sim.destroy());
test.run();
