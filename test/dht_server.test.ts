// The server side, driven by hand-written KRPC on the simulated network (virtual time).
import { readFileSync } from "node:fs";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { type BDict, encode } from "../src/bencode.ts";
import { ERR, ITEM_OVERHEAD, ITEM_TTL, LIMITS } from "../src/dht/constants.ts";
import { immutableTarget, mutableTarget } from "../src/crypto/record.ts";
import { decodeAddress, decodeNodes } from "../src/dht/krpc.ts";
import { Bench, bytes, fromHex, hex, id, signed } from "./_dht.ts";

const test = suite("dht server");
const bep44 = JSON.parse(readFileSync("test/vectors/bep44.json", "utf8")) as {
  mutable: { value: string; salt: string; seq: number; publicKey: string; target: string; signature: string }[];
};
const seedA = new Uint8Array(32).fill(1);
const token = async (p: ReturnType<Bench["peer"]>, target: Uint8Array) => (await p.r("get", { target }))["token"] as Uint8Array;

test("ping: our id, the requester's address (BEP 42 ip) and version CH", async () => {
  const b = new Bench();
  const p = b.peer();
  const m = (await p.query("ping", {}))!;
  assert.equal((m["r"] as BDict)["id"], b.node.id);
  assert.equal(decodeAddress(m["ip"] as Uint8Array), p.transport.address());
  assert.is(Buffer.from(m["v"] as Uint8Array).subarray(0, 2).toString(), "CH");
});

test("find_node returns the closest contacts; malformed queries get 203, unknown methods 204", async () => {
  const b = new Bench();
  for (let n = 1; n <= 20; n++) b.node.table.heard({ id: id(n), host: `10.9.0.${n}`, port: 6881 }, 0);
  const p = b.peer();
  await p.verify();
  const nodes = decodeNodes((await p.r("find_node", { target: id(3) }))["nodes"] as Uint8Array)!;
  assert.is(nodes.length, 8);
  assert.equal(nodes[0]!.id, id(3));
  assert.is(await p.code("find_node", { target: new Uint8Array(19) }), ERR.protocol);
  assert.is(await p.code("get_peers", {}), ERR.protocol);
  assert.is(await p.code("frobnicate", {}), ERR.method);
  const noId = await p.sendRaw(encode({ t: bytes("zz"), y: "q", q: "ping", a: {} }));
  assert.equal(noId[0]!.msg["e"], [ERR.protocol, bytes("Missing or bad a.id")]);
  assert.equal(noId[0]!.msg["t"], bytes("zz"), "the error echoes the transaction id");
  assert.is((await p.sendRaw(bytes("d1:t2:zz1:y1:qe1"))).length, 0, "undecodable: no answer");
});

test("announce_peer needs a token bound to the requester's IP; get_peers then returns the peer", async () => {
  const b = new Bench();
  const p = b.peer(), q = b.peer();
  const ih = id(7);
  const tok = (await p.r("get_peers", { info_hash: ih }))["token"] as Uint8Array;
  assert.is(await q.code("announce_peer", { info_hash: ih, port: 5000, token: tok }), ERR.protocol, "another IP's token");
  assert.is(await p.code("announce_peer", { info_hash: ih, port: 5000, token: bytes("nope") }), ERR.protocol);
  assert.is(await p.code("announce_peer", { info_hash: ih, port: 0, token: tok }), ERR.protocol, "port 0");
  assert.ok(await p.r("announce_peer", { info_hash: ih, port: 5000, token: tok }));
  const qt = (await q.r("get_peers", { info_hash: ih }))["token"] as Uint8Array;
  assert.ok(await q.r("announce_peer", { info_hash: ih, port: 9, implied_port: 1, token: qt }));
  const values = (await b.peer().r("get_peers", { info_hash: ih }))["values"] as Uint8Array[];
  assert.equal(values.map((v) => decodeAddress(v)), [{ host: p.host, port: 5000 }, { host: q.host, port: 6881 }]);
});

test("tokens stay valid 5 to 10 minutes, then expire", async () => {
  const b = new Bench();
  const p = b.peer();
  const t0 = await token(p, id(1));
  await b.settle(4 * 60_000);
  assert.ok(await p.r("put", { token: t0, v: bytes("a") }), "still valid after 4 min");
  await b.settle(6 * 60_000 + 1);
  assert.is(await p.code("put", { token: t0, v: bytes("b") }), ERR.protocol, "expired after 10 min");
});

test("immutable put and get (BEP 44)", async () => {
  const b = new Bench();
  const p = b.peer();
  const v = bytes("Hello World!");
  assert.ok(await p.r("put", { token: await token(p, id(0)), v }));
  const r = await b.peer().r("get", { target: fromHex("e5f96f6f38320f0f33959cb4d3d656452117aadb") });
  assert.equal(r["v"], v);
  assert.is(r["seq"], undefined);
});

test("mutable put of the BEP 44 vectors, then get returns k, seq, sig, v", async () => {
  for (const vec of bep44.mutable) {
    const b = new Bench();
    const p = b.peer();
    const a = {
      token: await token(p, id(0)), k: fromHex(vec.publicKey), seq: vec.seq, sig: fromHex(vec.signature),
      v: bytes("Hello World!"), salt: vec.salt ? bytes(vec.salt) : undefined,
    };
    assert.ok(await p.r("put", a), vec.value);
    const r = await p.r("get", { target: fromHex(vec.target) });
    assert.equal([r["k"], r["seq"], r["sig"], r["v"]], [a.k, a.seq, a.sig, a.v]);
    assert.is((await p.r("get", { target: fromHex(vec.target), seq: 1 }))["v"], undefined, "not newer than seq 1: no value");
  }
});

test("BEP 44 errors: 205 too big, 206 bad signature, 207 salt too big, 301 CAS, 302 old seq, 203 malformed", async () => {
  const b = new Bench();
  const p = b.peer();
  const tok = await token(p, id(0));
  const put = (item: ReturnType<typeof signed>) => p.code("put", { token: tok, v: item.v, k: item.k, seq: item.seq, sig: item.sig, salt: item.salt, cas: item.cas });
  assert.is(await p.code("put", { token: tok, v: new Uint8Array(1000) }), ERR.tooBig);
  assert.is(await put({ ...signed(seedA, 1, "x"), sig: new Uint8Array(64) }), ERR.badSignature);
  assert.is(await put(signed(seedA, 1, "x", new Uint8Array(65))), ERR.saltTooBig);
  assert.is(await put(signed(seedA, 5, "five")), null);
  assert.is(await put(signed(seedA, 4, "four")), ERR.seqTooLow);
  assert.is(await put(signed(seedA, 5, "other five")), ERR.seqTooLow, "same seq, another value");
  assert.is(await put(signed(seedA, 5, "five")), null, "same seq, same value: a refresh");
  assert.is(await put(signed(seedA, 6, "six", undefined, 4)), ERR.cas);
  assert.is(await put(signed(seedA, 6, "six", undefined, 5)), null);
  assert.is(await p.code("put", { token: tok, v: 1, k: new Uint8Array(31), seq: 1, sig: new Uint8Array(64) }), ERR.protocol);
  assert.is(await p.code("put", { token: tok, v: 1, k: new Uint8Array(32), sig: new Uint8Array(64) }), ERR.protocol, "no seq");
  assert.is(await p.code("put", { token: tok }), ERR.protocol, "no v");
  const r = await p.r("get", { target: mutableTarget(signed(seedA, 6, "six").k!) });
  assert.equal([r["seq"], r["v"]], [6, bytes("six")]);
});

test("items expire 2 hours after their last put", async () => {
  const b = new Bench();
  const p = b.peer();
  const item = signed(seedA, 1, "keep me");
  const target = mutableTarget(item.k!);
  const putIt = async () => p.r("put", { token: await token(p, id(0)), ...item });
  await putIt();
  await b.settle(ITEM_TTL - 60_000);
  await putIt();
  await b.settle(ITEM_TTL - 60_000);
  assert.ok((await p.r("get", { target }))["v"], "refreshed: still there");
  await b.settle(2 * 60_000);
  assert.is((await p.r("get", { target }))["v"], undefined, "expired");
});

test("storage is bounded per source, and in items: the item put by the most sources is kept, the busiest source gives way", async () => {
  const b = new Bench({ limits: { items: 10, itemsPerIp: 4, writeBurst: 1000 } });
  const p = b.peer();
  const tok = await token(p, id(0));
  const codes = [];
  for (let i = 0; i < 6; i++) codes.push(await p.code("put", { token: tok, v: bytes(`mine ${i}`) }));
  assert.equal(codes, [null, null, null, null, ERR.server, ERR.server], "4 per source");
  const c = new Bench({ limits: { items: 10, writeBurst: 1000 } });
  const shared = bytes("put by two sources");
  for (const q of [c.peer(), c.peer()]) assert.is(await q.code("put", { token: await token(q, id(0)), v: shared }), null);
  const bySource: Uint8Array[][] = [];
  for (let s = 0; s < 6; s++) {
    const q = c.peer();
    const t = await token(q, id(0));
    bySource.push([]);
    for (let i = 0; i < 6; i++) {
      const v = bytes(`${s}/${i}`);
      if ((await q.code("put", { token: t, v })) === null) bySource[s]!.push(immutableTarget(encode(v)));
    }
  }
  assert.is(c.node.stats().items, 10);
  const asker = c.peer();
  assert.ok((await asker.r("get", { target: immutableTarget(encode(shared)) }))["v"], "the item of two sources stays");
  const kept = [];
  for (const targets of bySource) {
    let n = 0;
    for (const target of targets) if ((await asker.r("get", { target }))["v"] !== undefined) n++;
    kept.push(n);
  }
  assert.ok(Math.max(...kept) - Math.min(...kept) <= 2, `the rest is shared out: ${kept}`);
});

test("stored items cost their bytes plus a fixed overhead; values are kept as bytes only", async () => {
  const b = new Bench({ limits: { writeBurst: 1000 } });
  const p = b.peer();
  const tok = await token(p, id(0));
  // A value that decodes to 498 objects: its cost must not depend on that.
  const v = Array.from({ length: 498 }, () => new Uint8Array(0));
  assert.ok(await p.r("put", { token: tok, v }));
  assert.is(b.node.stats().storedBytes, ITEM_OVERHEAD + encode(v).length);
  await p.verify();
  const got = await p.r("get", { target: immutableTarget(encode(v)), pad: new Uint8Array(400) });
  assert.equal(encode(got["v"]!), encode(v), "served as stored");
});

test("a put flood from one address is rate-limited and storage stays bounded", async () => {
  const b = new Bench();
  const p = b.peer();
  const tok = await token(p, id(0));
  for (let i = 0; i < 2000; i++) {
    p.transport.send(encode({ t: b.nextT(), y: "q", q: "put", a: { id: p.id, token: tok, v: bytes(`flood ${i}`) } }), b.to);
  }
  await b.settle(10);
  const stats = b.node.stats();
  assert.ok(stats.items <= LIMITS.writeBurst, `stored ${stats.items}`);
  assert.ok(stats.dropped.limited > 1500, `limited ${stats.dropped.limited}`);
  assert.ok(p.inbox.length < LIMITS.queryBurst + 50, `answered ${p.inbox.length}`);
  const other = b.peer();
  assert.ok(await other.r("ping", {}), "other sources are still served");
});

test("replies stay within 16 times their query: nodes, then values, are trimmed", async () => {
  const b = new Bench({ limits: { writeBurst: 1000, peersPerIp: 1000 } });
  for (let n = 1; n <= 30; n++) b.node.table.heard({ id: id(n), host: `10.9.0.${n}`, port: 6881 }, 0);
  const ih = id(3);
  for (let i = 0; i < 40; i++) {
    const p = b.peer();
    await p.r("announce_peer", { info_hash: ih, port: 1000 + i, token: (await p.r("get_peers", { info_hash: ih }))["token"] as Uint8Array });
  }
  const asker = b.peer();
  await asker.verify();
  const r = await asker.r("get_peers", { info_hash: ih });
  assert.is((r["values"] as Uint8Array[]).length, LIMITS.valuesPerReply, "values capped per reply");
  // The Bench checks every reply against 16 × its query; a big item still fits, nodes give way.
  const item = signed(seedA, 1, new Uint8Array(990));
  await asker.r("put", { token: await token(asker, id(0)), ...item });
  const got = await asker.r("get", { target: mutableTarget(item.k!) });
  assert.is((got["v"] as Uint8Array).length, 990);
  assert.ok((got["nodes"] as Uint8Array).length < 8 * 26, "nodes trimmed to fit");
});

test("replies to an unproved address stay within 3× the query, error replies included", async () => {
  const b = new Bench({ limits: { writeBurst: 1000 } });
  for (let n = 1; n <= 30; n++) b.node.table.heard({ id: id(n), host: `10.9.0.${n}`, port: 6881 }, 0);
  const owner = b.peer();
  const item = signed(seedA, 1, new Uint8Array(900));
  await owner.r("put", { token: await token(owner, id(0)), ...item });
  const stranger = b.peer();
  const within3 = async (q: string, a: Record<string, Uint8Array | number>) => {
    const t = b.nextT();
    const buf = encode({ t, y: "q", q, a: { id: stranger.id, ...a } });
    const replies = await stranger.sendRaw(buf);
    for (const r of replies) assert.ok(r.size <= 3 * buf.length, `${q}: ${r.size} bytes for ${buf.length}`);
    return replies[0]?.msg ?? null;
  };
  const target = mutableTarget(item.k!);
  const small = (await within3("get", { target }))!;
  assert.is((small["r"] as BDict)["v"], undefined, "the item does not fit in 3× an 80-byte get");
  assert.ok((small["r"] as BDict)["token"], "but the token does");
  assert.ok(((small["r"] as BDict)["nodes"] as Uint8Array).length >= 5 * 26, "and nodes, so that a lookup goes on");
  const padded = (await within3("get", { target, pad: new Uint8Array(320) }))!;
  assert.is(((padded["r"] as BDict)["v"] as Uint8Array).length, 900, "a padded get gets it");
  const tok = (small["r"] as BDict)["token"] as Uint8Array;
  const proved = await stranger.r("get", { target, token: tok });
  assert.is((proved["v"] as Uint8Array).length, 900, "a get echoing our token proves the address");
  const bad = await stranger.sendRaw(bytes("d1:t1:x1:y1:qe"));
  for (const r of bad) assert.ok(r.size <= 3 * 14, `error reply of ${r.size} bytes to 14`);
  assert.ok(b.node.stats().dropped.oversized >= 1, "too big even bare: not sent");
  assert.ok(await within3("frobnicate", {}), "an error that fits is sent");
});

test("queries are rate-limited per source IP", async () => {
  const b = new Bench();
  const p = b.peer();
  for (let i = 0; i < 500; i++) p.transport.send(encode({ t: b.nextT(), y: "q", q: "ping", a: { id: p.id } }), b.to);
  await b.settle(10);
  assert.ok(p.inbox.length <= LIMITS.queryBurst + 5, `${p.inbox.length} answers`);
  await b.settle(2000);
  assert.ok(await p.r("ping", {}), "the bucket refills");
});

test("a querying node is pinged back and joins the table only after it answers", async () => {
  const b = new Bench();
  const p = b.peer();
  await p.r("ping", {});
  assert.is(b.node.table.size, 0, "never added from its own query");
  const ping = p.inbox.find((m) => m.msg["y"] instanceof Uint8Array && Buffer.from(m.msg["y"]).toString() === "q");
  assert.ok(ping, "we were pinged back");
  p.transport.send(encode({ t: ping!.msg["t"] as Uint8Array, y: "r", r: { id: p.id } }), b.to);
  await b.settle();
  assert.equal(b.node.table.get(p.id)?.host, p.host);
  assert.is(hex(b.node.table.get(p.id)!.id), hex(p.id));
  const ro = b.peer();
  const answers = await ro.sendRaw(encode({ t: bytes("ro"), y: "q", q: "ping", ro: 1, a: { id: ro.id } }));
  assert.is(answers.length, 1, "a read-only node (BEP 43) is answered, and not pinged back");
});

test("a read-only node answers no query and marks its own ro", async () => {
  const b = new Bench({ readOnly: true });
  const p = b.peer();
  assert.is(await p.query("ping", {}), null);
  const sent: Uint8Array[] = [];
  p.transport.onMessage((buf) => sent.push(buf));
  void b.node.ping(p.transport.address()).catch(() => {});
  await b.settle();
  assert.is(Buffer.from(sent[0]!).toString("latin1").includes("2:roi1e"), true);
});

test.run();
