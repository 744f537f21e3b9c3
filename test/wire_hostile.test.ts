// Hostile packets: each is dropped without reply, counted, and never throws out of receive();
// floods of initiations keep state bounded.
import { ED25519_TORSION_SUBGROUP, ed25519 } from "@noble/curves/ed25519.js";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import type { Identity } from "../src/crypto/identity.ts";
import { encode as encodeDict } from "../src/bencode.ts";
import { DEFAULT_LIMITS, INITIATION_MAX, INITIATION_MIN, RESPONSE_LEN } from "../src/wire/constants.ts";
import type { WireStats } from "../src/wire/endpoint.ts";
import { encodeInitiationPayload } from "../src/wire/frames.ts";
import { Initiation } from "../src/wire/handshake.ts";
import { encodeData, encodeResponse } from "../src/wire/packets.ts";
import { type Node, node, prng, SimNet, testIdentity, track, VirtualTime } from "./_wire_sim.ts";

const test = suite("wire: hostile packets");

/** A and B with one delivered message between them; the log holds every datagram. */
async function pair(limits = {}) {
  const time = new VirtualTime();
  const net = new SimNet(time);
  const a = node(net, 1);
  const b = node(net, 2, { limits });
  const sent = track(a.endpoint.sendMessage(b.identity.publicKey, b.address, "first"));
  await time.until(() => sent.done);
  assert.ok(sent.value, String(sent.error));
  return { time, net, a, b };
}

/** Feeds `datagram` to `n` and asserts that `n` sent nothing back and counted one drop of `cause`. */
async function dropped(
  ctx: { time: VirtualTime; net: SimNet },
  n: Node,
  datagram: unknown,
  cause: keyof WireStats["dropped"],
  from = { host: "203.0.113.9", port: 4444 },
) {
  const before = n.endpoint.stats;
  const sentBy = () => ctx.net.log.filter((d) => d.from === n.address).length;
  const logged = sentBy();
  const delivered = n.inbox.length;
  n.endpoint.receive(datagram as Uint8Array, from);
  await ctx.time.advance(50);
  const after = n.endpoint.stats;
  assert.is(after.dropped[cause], before.dropped[cause] + 1, `counted as ${cause}`);
  const total = (s: WireStats) => Object.values(s.dropped).reduce((x, y) => x + y, 0);
  assert.is(total(after), total(before) + 1, `only as ${cause}`);
  assert.is(sentBy(), logged, "no reply");
  assert.is(n.inbox.length, delivered, "nothing delivered");
  assert.is(after.dropped.internal, 0);
}

/** Message 1 from `from` to `to` whose payload claims the identity `i`. */
const claiming = (from: Identity, to: Node, i: Uint8Array) =>
  new Initiation(from, to.identity.x25519.publicKey, 5, 0, encodeInitiationPayload({ identity: i, timestamp: 1 })).packet;

const datagrams = (net: SimNet, from: Node, type: number) => net.log.filter((d) => d.from === from.address && d.data[0] === type);

test("a replayed initiation is dropped (its t is not newer), from any address", async () => {
  const ctx = await pair();
  const [init] = datagrams(ctx.net, ctx.a, 1);
  await dropped(ctx, ctx.b, init!.data, "timestamp", ctx.a.address);
  await dropped(ctx, ctx.b, init!.data, "timestamp");
  assert.is(ctx.b.endpoint.stats.handshakesAnswered, 1);
  assert.is(ctx.b.endpoint.stats.pendingSessions, 0);
});

test("a replayed response is dropped (the attempt is gone)", async () => {
  const ctx = await pair();
  const [resp] = datagrams(ctx.net, ctx.b, 2);
  await dropped(ctx, ctx.a, resp!.data, "unknownIndex", ctx.b.address);
});

test("a replayed data packet is dropped before decryption, and nothing is delivered twice", async () => {
  const ctx = await pair();
  const [data] = datagrams(ctx.net, ctx.a, 3);
  await dropped(ctx, ctx.b, data!.data, "replay", ctx.a.address);
  const [ack] = datagrams(ctx.net, ctx.b, 3);
  await dropped(ctx, ctx.a, ack!.data, "replay", ctx.b.address);
  assert.is(ctx.b.inbox.length, 1);
});

test("a tampered data packet does not authenticate and does not move the replay window", async () => {
  const ctx = await pair();
  const { net, time, a, b } = ctx;
  net.filter = (d) => d.from !== a.address; // hold A's packets back (retransmissions too)
  const second = track(a.endpoint.sendMessage(b.identity.publicKey, b.address, "second"));
  await time.advance(1);
  const packet = datagrams(net, a, 3).at(-1)!.data;
  for (const at of [16, packet.length - 1, 20]) {
    const bad = packet.slice();
    bad[at]! ^= 0x01;
    await dropped(ctx, b, bad, "decrypt", a.address);
  }
  const bumped = packet.slice();
  bumped[9]! ^= 0x01; // a different counter: the nonce changes, so the tag fails
  await dropped(ctx, b, bumped, "decrypt", a.address);
  const far = packet.slice();
  far[14] = 0x01; // a counter far ahead: had it moved the window, the genuine packet would be too old
  await dropped(ctx, b, far, "decrypt", a.address);
  const replays = b.endpoint.stats.dropped.replay;
  b.endpoint.receive(packet, a.address);
  assert.is(b.endpoint.stats.dropped.replay, replays);
  assert.equal(b.inbox.map((m) => m.text), ["first", "second"]);
  net.filter = undefined;
  await time.until(() => second.done);
  assert.ok(second.value);
  assert.equal(b.inbox.map((m) => m.text), ["first", "second"]);
});

test("message 1 whose i is not the key Noise revealed, or not a key at all, or a bad payload", async () => {
  const ctx = await pair();
  const { b } = ctx;
  const mallory = testIdentity(66);
  const someoneElse = testIdentity(1).publicKey;
  const forge = (payload: Uint8Array) =>
    new Initiation(mallory, b.identity.x25519.publicKey, 5, 0, payload).packet;
  const t = ctx.time.now;
  await dropped(ctx, b, forge(encodeInitiationPayload({ identity: someoneElse, timestamp: t })), "identity");
  await dropped(ctx, b, forge(encodeInitiationPayload({ identity: new Uint8Array(32).fill(0xff), timestamp: t })), "identity");
  await dropped(ctx, b, forge(encodeInitiationPayload({ identity: new Uint8Array(32), timestamp: t })), "identity");
  await dropped(ctx, b, forge(encodeDict({ i: mallory.publicKey, t: -t })), "payload");
  await dropped(ctx, b, forge(encodeDict({ i: mallory.publicKey, u: t })), "payload");
  await dropped(ctx, b, forge(encodeDict({ i: mallory.publicKey.subarray(1), t: 12 })), "payload");
  // To someone else's static key: B cannot read it.
  const misdirected = new Initiation(mallory, testIdentity(3).x25519.publicKey, 5, t).packet;
  await dropped(ctx, b, misdirected, "decrypt");
  assert.is(b.endpoint.stats.pendingSessions, 0);
  assert.is(b.endpoint.stats.timestamps, 1, "no forged initiation touched the replay guard");
});

test("message 1 whose i has a torsion component: only the holder of the key's secret can claim it", async () => {
  const ctx = await pair();
  const { b, time } = ctx;
  const mallory = testIdentity(66);
  const order8 = ed25519.Point.fromHex(ED25519_TORSION_SUBGROUP[1]!);
  const plusTorsion = (key: Uint8Array) => ed25519.Point.fromBytes(key).add(order8).toBytes();
  /** Message 1 claiming `i`, with Noise static key (u of `i`, `secretKey`). */
  const claim = (i: Uint8Array, secretKey: Uint8Array, index: number) =>
    new Initiation({ publicKey: i, x25519: { secretKey, publicKey: ed25519.utils.toMontgomery(i) } }, b.identity.x25519.publicKey, index, time.now).packet;
  const from = { host: "203.0.113.5", port: 5555 };

  // Someone else's key plus a torsion point: its u is not a key Mallory holds, the DH fails.
  const victim = testIdentity(1).publicKey;
  await dropped(ctx, b, claim(plusTorsion(victim), mallory.x25519.secretKey, 5), "decrypt", from);
  // Her own key plus a torsion point, beside her own static key: not the key Noise revealed.
  const forged = new Initiation(mallory, b.identity.x25519.publicKey, 6, time.now,
    encodeInitiationPayload({ identity: plusTorsion(mallory.publicKey), timestamp: time.now })).packet;
  await dropped(ctx, b, forged, "identity", from);
  // The neutral element (no u at all) and a point of order 4 (u = 1, a low-order static key).
  await dropped(ctx, b, claiming(mallory, b, Uint8Array.of(1, ...new Uint8Array(31))), "identity", from);
  await dropped(ctx, b, claim(new Uint8Array(32), mallory.x25519.secretKey, 7), "decrypt", from);
  // Her own key plus a torsion point with the matching static key: B's clamped DH ignores the
  // torsion, so this authenticates, as an alias that no honest key is and that only she can use.
  const answered = b.endpoint.stats.handshakesAnswered;
  b.endpoint.receive(claim(plusTorsion(mallory.publicKey), mallory.x25519.secretKey, 8), from);
  assert.is(b.endpoint.stats.handshakesAnswered, answered + 1);
  assert.is(b.endpoint.stats.dropped.internal, 0);
});

test("message 1 with a t not newer than the last accepted from that identity, or outside ±2 minutes", async () => {
  const ctx = await pair();
  const { b } = ctx;
  const mallory = testIdentity(66);
  const t = ctx.time.now + 60_000;
  const answered = ctx.net.log.length;
  b.endpoint.receive(new Initiation(mallory, b.identity.x25519.publicKey, 7, t).packet, { host: "203.0.113.1", port: 1 });
  await ctx.time.advance(50);
  assert.is(ctx.net.log.length, answered + 1, "answered");
  await dropped(ctx, b, new Initiation(mallory, b.identity.x25519.publicKey, 8, t).packet, "timestamp");
  await dropped(ctx, b, new Initiation(mallory, b.identity.x25519.publicKey, 9, t - 1).packet, "timestamp");
  b.endpoint.receive(new Initiation(mallory, b.identity.x25519.publicKey, 10, t + 1).packet, { host: "203.0.113.1", port: 1 });
  await ctx.time.advance(50);
  assert.is(ctx.net.log.length, answered + 2, "a newer t is answered");
  // Newer than any remembered, but outside the window of B's clock: the memory needs no help.
  const now = ctx.time.now;
  await dropped(ctx, b, new Initiation(mallory, b.identity.x25519.publicKey, 11, now + 120_100).packet, "stale");
  await dropped(ctx, b, new Initiation(testIdentity(67), b.identity.x25519.publicKey, 12, now - 120_100).packet, "stale");
});

test("garbage of every packet type is dropped without reply", async () => {
  const ctx = await pair();
  const { net, a, b } = ctx;
  const [init] = datagrams(net, a, 1);
  const [resp] = datagrams(net, b, 2);
  const [data] = datagrams(net, a, 3);
  const malformed: Uint8Array[] = [
    new Uint8Array(0), Uint8Array.of(1), Uint8Array.of(2, 0, 0, 0), Uint8Array.of(3, 0, 0, 0, 1, 2, 3, 4),
    init!.data.subarray(0, INITIATION_MIN - 1), new Uint8Array(INITIATION_MAX + 1).fill(1, 0, 1),
    resp!.data.subarray(0, RESPONSE_LEN - 1), Uint8Array.from([...resp!.data, 0]),
    data!.data.subarray(0, 31), Uint8Array.from({ length: 1200 }, (_, i) => (i ? 0 : 3)),
    new TextEncoder().encode("d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe"), // KRPC strays here
    Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0), Uint8Array.of(4, 0, 0, 0, 0, 0, 0, 0), new Uint8Array(100).fill(0xff),
  ];
  for (const p of [init!.data, resp!.data, data!.data]) {
    for (const at of [1, 2, 3]) {
      const q = p.slice();
      q[at] = 0x80;
      malformed.push(q);
    }
  }
  for (const p of malformed) await dropped(ctx, b, p, "malformed");
  // Well-formed, but naming no session of ours.
  await dropped(ctx, b, encodeResponse(1, 0x12345678, new Uint8Array(48)), "unknownIndex");
  await dropped(ctx, b, encodeData(0x12345678, 0, new Uint8Array(40)), "unknownIndex");
  await dropped(ctx, b, resp!.data, "unknownIndex"); // a response to B, which initiated nothing
  // Well-formed initiations of random bytes: Noise cannot read them.
  const rand = prng(5);
  for (const len of [INITIATION_MIN, INITIATION_MAX]) {
    await dropped(ctx, b, Uint8Array.from({ length: len }, (_, i) => (i === 0 ? 1 : i < 4 ? 0 : Math.floor(rand() * 256))), "decrypt");
  }
  // Not even bytes.
  for (const junk of [undefined, null, "hello", 42, [1, 0, 0, 0]]) await dropped(ctx, b, junk, "malformed");
  b.endpoint.receive(new Uint8Array(40), undefined as never);
  assert.is(b.endpoint.stats.dropped.internal, 0);
  // B still works.
  const more = track(a.endpoint.sendMessage(b.identity.publicKey, b.address, "still here"));
  await ctx.time.until(() => more.done);
  assert.ok(more.value);
});

test("a forged response does not kill the handshake it names", async () => {
  const time = new VirtualTime();
  const net = new SimNet(time);
  const a = node(net, 1);
  const b = node(net, 2);
  const sent = track(a.endpoint.sendMessage(b.identity.publicKey, b.address, "through"));
  const index = a.endpoint._initiations()[0]!.index;
  const rand = prng(11);
  for (let i = 0; i < 5; i++) {
    const forged = encodeResponse(99, index, Uint8Array.from({ length: 48 }, () => Math.floor(rand() * 256)));
    a.endpoint.receive(forged, b.address);
  }
  assert.is(a.endpoint.stats.dropped.decrypt, 5);
  await time.until(() => sent.done);
  assert.ok(sent.value, String(sent.error));
  assert.is(a.endpoint.stats.initiationsSent, 1);
});

test("fuzz: mutated packets never throw, never deliver, never answer", async () => {
  const ctx = await pair({ globalRate: 1e6, globalBurst: 1e6, sourceRate: 1e6, sourceBurst: 1e6 });
  const { net, a, b, time } = ctx;
  const seeds = [...datagrams(net, a, 1), ...datagrams(net, a, 3), ...datagrams(net, b, 2)].map((d) => d.data);
  const rand = prng(1234);
  const logged = net.log.length;
  let fed = 0;
  for (let i = 0; i < 3000; i++) {
    const base = seeds[i % seeds.length]!;
    if (base[0] === 1 && i % 10 !== 0) continue; // initiations cost DH work: fewer of them
    const q = base.slice(0, rand() < 0.1 ? Math.floor(rand() * base.length) : base.length);
    const flips = 1 + Math.floor(rand() * 3);
    for (let f = 0; f < flips && q.length; f++) q[Math.floor(rand() * q.length)]! ^= 1 << Math.floor(rand() * 8);
    b.endpoint.receive(q, a.address);
    a.endpoint.receive(q, b.address);
    fed++;
  }
  await time.advance(100);
  assert.ok(fed > 2000);
  // The only answers: cookie replies to initiations over their source's rate (A has the default
  // limits), which read nothing and create nothing.
  assert.ok(net.log.slice(logged).every((d) => d.data[0] === 9 && d.from === a.address));
  assert.is(b.inbox.length, 1);
  assert.is(a.inbox.length, 0);
  assert.is(b.endpoint.stats.dropped.internal + a.endpoint.stats.dropped.internal, 0);
  assert.is(b.endpoint.stats.pendingSessions, 0);
});

test("a flood of initiations from many sources keeps state bounded; under load they get cookies", async () => {
  const limits = {
    ...DEFAULT_LIMITS,
    maxSessions: 40,
    maxPendingPerSource: 3,
    globalRate: 20,
    globalBurst: 30,
    maxSources: 50,
    maxTimestamps: 25,
  };
  const time = new VirtualTime();
  const net = new SimNet(time);
  const b = node(net, 2, { limits });
  const target = b.identity.x25519.publicKey;
  const attackers = Array.from({ length: 120 }, (_, i) => testIdentity(100 + i));
  const flood = (from: (i: number) => { host: string; port: number }) => {
    attackers.forEach((m, i) => b.endpoint.receive(new Initiation(m, target, i, time.now).packet, from(i)));
  };

  // 120 identities from 120 addresses at once: once half the global bucket is spent, B is under
  // load and answers with cookies, which cost no DH work and create no state.
  flood((i) => ({ host: `198.51.100.${i}`, port: 1000 + i }));
  let s = b.endpoint.stats;
  assert.is(s.handshakesAnswered, 16);
  assert.is(s.pendingSessions, 16);
  assert.is(s.cookiesSent, 104);
  assert.ok(s.sources <= 16);
  assert.ok(s.timestamps <= 25);

  // One address, many identities: three pending sessions at most.
  await time.advance(2_000);
  flood(() => ({ host: "192.0.2.1", port: 9 }));
  s = b.endpoint.stats;
  assert.is(s.pendingSessions, 19);
  assert.ok(s.dropped.busy > 0);

  // The session table half full: everyone without a cookie gets one.
  await time.advance(2_000);
  flood((i) => ({ host: `192.0.2.${10 + i}`, port: 9 }));
  s = b.endpoint.stats;
  assert.is(s.pendingSessions, 20);
  assert.ok(s.handshakesAnswered <= 40);
  assert.ok(s.timestamps <= 25 && s.sources <= 50);

  // Nobody confirms: all gone 10 s after their responses, and B serves a real peer again.
  await time.advance(10_000);
  s = b.endpoint.stats;
  assert.is(s.pendingSessions, 0);
  assert.is(s.sessions, 0);
  assert.is(b.endpoint._sessions().length, 0);
  const a = node(net, 1);
  const sent = track(a.endpoint.sendMessage(b.identity.publicKey, b.address, "after the storm"));
  await time.until(() => sent.done);
  assert.ok(sent.value, String(sent.error));
  a.endpoint.close();
  b.endpoint.close();
});

test("a flood of garbage creates no state at all", async () => {
  const time = new VirtualTime();
  const net = new SimNet(time);
  const b = node(net, 2);
  const rand = prng(77);
  for (let i = 0; i < 50_000; i++) {
    const type = 2 + (i % 2);
    const len = type === 2 ? RESPONSE_LEN : 32 + Math.floor(rand() * 1100);
    const p = new Uint8Array(len);
    p[0] = type;
    for (let k = 4; k < len; k += 4) p[k] = Math.floor(rand() * 256);
    b.endpoint.receive(p, { host: `10.${i % 250}.${(i >> 8) % 250}.1`, port: i % 65535 });
  }
  const s = b.endpoint.stats;
  assert.is(s.dropped.unknownIndex, 50_000);
  assert.equal([s.sessions, s.pendingSessions, s.sources, s.timestamps, s.peers, s.partialBytes, s.dedupe], [0, 0, 0, 0, 0, 0, 0]);
  assert.is(net.log.length, 0);
  b.endpoint.close();
});

test.run();
