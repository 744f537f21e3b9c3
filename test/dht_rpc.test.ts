import { suite } from "uvu";
import * as assert from "uvu/assert";
import { decode, encode, isDict } from "../src/bencode.ts";
import { parseMessage } from "../src/dht/krpc.ts";
import { QueryError, Rpc } from "../src/dht/rpc.ts";
import { SimNetwork, SimTransport } from "../src/dht/sim.ts";
import type { Address } from "../src/dht/transport.ts";
import { id } from "./_dht.ts";

const test = suite("dht rpc");

/** An Rpc on the simulated network, and a responder whose behaviour each test sets. */
function setup(opts: { maxInflight?: number } = {}) {
  const net = new SimNetwork({ latency: [10, 10] });
  const transport = net.transport();
  const rpc = new Rpc({ transport, clock: net.clock, timeout: 100, ...opts });
  transport.onMessage((buf, from) => {
    const msg = parseMessage(buf);
    if (msg) rpc.settle(msg, from);
  });
  const server = net.transport();
  const seen: Uint8Array[] = [];
  let answer: (t: Uint8Array, from: Address) => void = (t, from) => server.send(encode({ t, y: "r", r: { id: id(9) } }), from);
  server.onMessage((buf, from) => {
    const m = decode(buf);
    if (!isDict(m)) return;
    seen.push(m["t"] as Uint8Array);
    answer(m["t"] as Uint8Array, from);
  });
  return { net, rpc, server, seen, setAnswer: (f: typeof answer) => { answer = f; } };
}

test("a reply resolves its transaction, with the round-trip time", async () => {
  const { net, rpc, server } = setup();
  const reply = await net.clock.until(rpc.query(server.address(), "ping", { id: id(1) }));
  assert.equal(reply.id, id(9));
  assert.is(reply.rtt, 20);
});

test("transaction ids are random: not consecutive, and none repeats while in flight", async () => {
  const { net, rpc, server, seen } = setup({ maxInflight: 400 });
  await net.clock.until(Promise.all(Array.from({ length: 300 }, () => rpc.query(server.address(), "ping", { id: id(1) }))));
  const tids = seen.map((t) => (t[0]! << 8) | t[1]!);
  assert.is(new Set(tids).size, 300, "unique while in flight");
  const consecutive = tids.slice(1).filter((t, i) => t === ((tids[i]! + 1) & 0xffff)).length;
  assert.ok(consecutive < 5, `${consecutive} consecutive pairs of 299`);
});

test("timeouts reject; retries resend with the same transaction id", async () => {
  const { net, rpc, server, seen, setAnswer } = setup();
  setAnswer(() => {});
  const err = await net.clock.until(rpc.query(server.address(), "ping", { id: id(1) }, { retries: 2 }).catch((e) => e));
  assert.instance(err, QueryError);
  assert.is(err.code, "timeout");
  assert.is(seen.length, 3);
  assert.equal(seen[0], seen[2]);
  assert.is(net.clock.now(), 300);
  let n = 0;
  setAnswer((t, from) => { if (n++ === 1) server.send(encode({ t, y: "r", r: { id: id(9) } }), from); });
  const ok = await net.clock.until(rpc.query(server.address(), "ping", { id: id(1) }, { retries: 1 }));
  assert.equal(ok.id, id(9), "the second try got through");
});

test("replies from another address, or from an unexpected node id, do not complete a query", async () => {
  const { net, rpc, server, setAnswer } = setup();
  const spoofer = net.transport();
  setAnswer((t, from) => spoofer.send(encode({ t, y: "r", r: { id: id(9) } }), from));
  const err = await net.clock.until(rpc.query(server.address(), "ping", { id: id(1) }).catch((e) => e));
  assert.is(err.code, "timeout", "a spoofed source is ignored");
  setAnswer((t, from) => server.send(encode({ t, y: "r", r: { id: id(8) } }), from));
  const wrong = await net.clock.until(rpc.query(server.address(), "ping", { id: id(1) }, { expect: id(9) }).catch((e) => e));
  assert.is(wrong.code, "unexpected-id");
});

test("a KRPC error reply rejects with its code", async () => {
  const { net, rpc, server, setAnswer } = setup();
  setAnswer((t, from) => server.send(encode({ t, y: "e", e: [204, "Method Unknown"] }), from));
  const err = await net.clock.until(rpc.query(server.address(), "nope", { id: id(1) }).catch((e) => e));
  assert.is(err.code, 204);
  assert.is(err.message, "Method Unknown");
});

test("concurrency is bounded; queued queries go out as others finish", async () => {
  const { net, rpc, server } = setup({ maxInflight: 3 });
  const all = Promise.all(Array.from({ length: 10 }, () => rpc.query(server.address(), "ping", { id: id(1) })));
  assert.is(rpc.inflight, 3);
  const replies = await net.clock.until(all);
  assert.is(replies.length, 10);
  assert.is(net.clock.now(), 80, "four waves of 20 ms");
});

test("destroy fails queries in flight and refuses new ones", async () => {
  const { net, rpc, server } = setup();
  const p = rpc.query(server.address(), "ping", { id: id(1) }).catch((e) => e);
  rpc.destroy();
  assert.is((await p).code, "closed");
  assert.is((await rpc.query(server.address(), "ping", {}).catch((e) => e)).code, "closed");
  assert.is(rpc.inflight, 0);
  void net;
});

test("the simulator is deterministic from its seed, and drops, duplicates and delays as told", async () => {
  const trace = async (seed: number) => {
    const net = new SimNetwork({ seed, loss: 0.2, duplicate: 0.2, reorder: 0.3, latency: [1, 20] });
    const a = net.transport(), b = net.transport();
    const got: string[] = [];
    b.onMessage((buf) => got.push(`${net.clock.now().toFixed(3)}:${buf[0]}`));
    for (let i = 0; i < 200; i++) a.send(new Uint8Array([i]), b.address());
    await net.clock.run();
    return { got, stats: { ...net.stats } };
  };
  const one = await trace(42), two = await trace(42), other = await trace(43);
  assert.equal(one, two);
  assert.not.equal(one.got, other.got);
  assert.ok(one.stats.lost > 20 && one.stats.lost < 60, `lost ${one.stats.lost}`);
  assert.ok(one.stats.duplicated > 15, `duplicated ${one.stats.duplicated}`);
  const order = one.got.map((g) => Number(g.split(":")[1]));
  assert.ok(order.some((x, i) => i > 0 && x < order[i - 1]!), "reordered");
  const net = new SimNetwork();
  const a = net.transport(), b: SimTransport = net.transport();
  let n = 0;
  b.onMessage(() => n++);
  net.setDown(b.host, true);
  a.send(new Uint8Array([1]), b.address());
  await net.clock.run();
  assert.is(n, 0, "a host that is down receives nothing");
});

test.run();
