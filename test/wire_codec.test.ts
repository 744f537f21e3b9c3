// The pure parts of the session layer: bencode subset, frames, packets, replay window,
// fragmentation and reassembly, rate limiting. Invalid inputs must all be rejected.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { encode as encodeDict, tryDecode } from "../src/bencode.ts";
import { DEDUPE_TIME_MIN, DEFAULT_LIMITS, INITIATION_MAX, INITIATION_MIN, MAX_DATAGRAM, RESPONSE_LEN } from "../src/wire/constants.ts";
import { Inbox, fragmentMessage, newInboxUsage } from "../src/wire/fragment.ts";
import { decodeFrame, _decodeFrameBencode, decodeInitiationPayload, encodeFrame, encodeInitiationPayload, type MessageFrame } from "../src/wire/frames.ts";
import { encodeData, encodeInitiation, encodeResponse, parsePacket } from "../src/wire/packets.ts";
import { SourceLimiter, TokenBucket } from "../src/wire/ratelimit.ts";
import { REPLAY_WINDOW, ReplayWindow } from "../src/wire/replay.ts";
import { prng } from "./_wire_sim.ts";

const ascii = (s: string) => new TextEncoder().encode(s);
const id16 = (n: number) => new Uint8Array(16).fill(n);

const bencode = suite("wire: frames are flat bencode dicts, decoded strictly");
const decodeFlat = (buf: Uint8Array) => {
  const value = tryDecode(buf, { maxDepth: 1 });
  return value !== null && typeof value === "object" && !(value instanceof Uint8Array) && !Array.isArray(value) ? value : null;
};

bencode("round trip, keys sorted by raw bytes", () => {
  const enc = encodeDict({ y: ascii("m"), a: 0, b: -42, "0": ascii(""), i: 9007199254740991 });
  assert.equal(new TextDecoder().decode(enc), "d1:00:1:ai0e1:bi-42e1:ii9007199254740991e1:y1:me");
  const dec = decodeFlat(enc)!;
  assert.equal(Object.keys(dec).sort(), ["0", "a", "b", "i", "y"]);
  assert.is(dec["b"], -42);
  assert.is(dec["i"], 9007199254740991);
  assert.equal(dec["y"], ascii("m"));
});

bencode("rejects every non-canonical or unexpected form", () => {
  const bad = [
    "", "d", "e", "de ", "dex", "le", "i1e", "4:spam", "d1:ai1e", // not one complete dict
    "d1:bi1e1:ai2ee", // unsorted
    "d1:ai1e1:ai2ee", // duplicate key
    "d1:ai01ee", "d1:ai-0ee", "d1:aie", "d1:ai-e", "d1:ai+1ee", "d1:ai1.0ee", "d1:ai 1ee", // ints
    "d1:ai9223372036854775808ee", // beyond int64
    "d01:ai1ee", "d1:a01:xe", "d1:a2:xe", "d1:a-1:xe", "d:ai1ee", // string lengths
    "d1:ali1eee", "d1:ad1:bi1eee", // nesting
    "di1ei2ee", // integer key
    "d1:ai1eex", "d1:ai1ee\n", // trailing bytes
    "d1:a99999999999999999:x", // absurd length
  ];
  for (const s of bad) assert.is(decodeFlat(ascii(s)), null, JSON.stringify(s));
  assert.equal(Object.keys(decodeFlat(ascii("de"))!), []);
  assert.ok(decodeFlat(ascii("d1:a0:e"))?.["a"] instanceof Uint8Array);
  // Integers past 2^53 decode exactly (as bigint), so no frame field accepts them.
  const frame = (s: string) => decodeFrame(ascii(`d1:ci1e1:d0:1:i16:aaaaaaaaaaaaaaaa1:ni0e1:si${s}e1:y1:me`));
  assert.ok(frame("9007199254740991"), "the largest safe time is a valid frame");
  assert.is(frame("9007199254740993"), null);
});

bencode("canonical: whatever decodes re-encodes to the same bytes (random dicts, then mutated)", () => {
  const rand = prng(7);
  const pick = (s: string) => s[Math.floor(rand() * s.length)]!;
  let decoded = 0;
  for (let i = 0; i < 3000; i++) {
    const dict: Record<string, Uint8Array | number> = {};
    for (let k = Math.floor(rand() * 5); k > 0; k--) {
      const key = Array.from({ length: 1 + Math.floor(rand() * 2) }, () => pick("abcixyz")).join("");
      dict[key] = rand() < 0.5 ? Math.floor((rand() - 0.3) * 10 ** Math.floor(rand() * 16)) : ascii("v".repeat(Math.floor(rand() * 12)));
    }
    const enc = encodeDict(dict);
    assert.equal({ ...decodeFlat(enc) }, dict);
    for (let m = 0; m < 10; m++) {
      const q = enc.slice();
      q[Math.floor(rand() * q.length)] = pick("di0123456789e:-ax").charCodeAt(0);
      const back = decodeFlat(q);
      if (back) {
        decoded++;
        assert.equal(encodeDict(back), q);
      }
    }
  }
  assert.ok(decoded > 1000, `${decoded}`);
});

bencode.run();

const frames = suite("wire: frames");

const message: MessageFrame = { type: "message", id: id16(7), index: 2, count: 3, sentAt: 1_700_000_000_123, data: ascii("hello") };

frames("each frame type round-trips, in the canonical bytes of PROTOCOL §6", () => {
  assert.equal(decodeFrame(encodeFrame(message)), message);
  const ack = encodeFrame({ type: "ack", id: id16(1) });
  assert.equal(ack, ascii(`d1:i16:${"\x01".repeat(16)}1:y1:ae`));
  assert.equal(decodeFrame(ack), { type: "ack", id: id16(1) });
  assert.equal(encodeFrame({ type: "close" }), ascii("d1:y1:xe"));
  assert.equal(decodeFrame(ascii("d1:y1:xe")), { type: "close" });
  const m = new TextDecoder("latin1").decode(encodeFrame(message));
  assert.is(m, `d1:ci3e1:d5:hello1:i16:${"\x07".repeat(16)}1:ni2e1:si1700000000123e1:y1:me`);
});

frames("rejects wrong keys, types and ranges", () => {
  const enc = (d: Record<string, Uint8Array | number>) => decodeFrame(encodeDict(d));
  const ok = { c: 3, d: ascii("x"), i: id16(1), n: 0, s: 5, y: ascii("m") };
  assert.ok(enc(ok));
  for (const [k, v] of Object.entries({
    c: [0, 65, -1, ascii("3")], n: [3, -1, ascii("0")], s: [-1, ascii("5")], i: [id16(1).subarray(1), new Uint8Array(17), 5],
    d: [new Uint8Array(1025), 7], y: [ascii("M"), ascii("mm"), ascii(""), 109],
  })) {
    for (const bad of v) assert.is(enc({ ...ok, [k]: bad }), null, `${k}=${String(bad)}`);
  }
  assert.ok(enc({ ...ok, c: 64, n: 63, d: new Uint8Array(1024) }));
  assert.is(enc({ ...ok, z: 1 }), null, "unknown key");
  const { d: _d, ...missing } = ok;
  assert.is(enc(missing), null, "missing key");
  assert.is(enc({ i: id16(1), y: ascii("a"), n: 0 }), null, "ack with an extra key");
  assert.is(enc({ y: ascii("x"), i: id16(1) }), null, "close with an extra key");
  assert.is(enc({ y: ascii("q") }), null, "unknown type");
  assert.is(decodeFrame(new Uint8Array(0)), null);
});

frames("message 1 payload: {i: 32 bytes, t: unix ms} exactly", () => {
  const identity = new Uint8Array(32).fill(9);
  const p = encodeInitiationPayload({ identity, timestamp: 1_700_000_000_000 });
  assert.equal(decodeInitiationPayload(p), { identity, timestamp: 1_700_000_000_000 });
  assert.is(encodeInitiationPayload({ identity, timestamp: 0 }).length, 46);
  assert.is(encodeInitiationPayload({ identity, timestamp: Number.MAX_SAFE_INTEGER }).length, 61);
  assert.is(decodeInitiationPayload(encodeDict({ i: identity.subarray(1), t: 1 })), null);
  assert.is(decodeInitiationPayload(encodeDict({ i: identity, t: -1 })), null);
  assert.is(decodeInitiationPayload(encodeDict({ i: identity, t: identity })), null);
  assert.is(decodeInitiationPayload(encodeDict({ i: identity, t: 1, u: 1 })), null);
  assert.is(decodeInitiationPayload(encodeDict({ i: identity })), null);
});

frames.run();

const packets = suite("wire: packets");

packets("encode and parse each type; header integers are little-endian", () => {
  const m1 = new Uint8Array(INITIATION_MIN - 8).fill(0xaa);
  const init = encodeInitiation(0x01020304, m1);
  assert.equal(Array.from(init.subarray(0, 8)), [1, 0, 0, 0, 4, 3, 2, 1]);
  assert.equal(parsePacket(init), { type: 1, senderIndex: 0x01020304, message: m1, bytes: init });
  const resp = encodeResponse(0xfffffffe, 7, new Uint8Array(48).fill(0xbb));
  assert.is(resp.length, RESPONSE_LEN);
  assert.equal(Array.from(resp.subarray(0, 12)), [2, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff, 7, 0, 0, 0]);
  assert.equal(parsePacket(resp), { type: 2, senderIndex: 0xfffffffe, receiverIndex: 7, message: new Uint8Array(48).fill(0xbb) });
  const counter = 2 ** 40 + 5;
  const data = encodeData(9, counter, new Uint8Array(20).fill(0xcc));
  assert.equal(Array.from(data.subarray(0, 16)), [3, 0, 0, 0, 9, 0, 0, 0, 5, 0, 0, 0, 0, 1, 0, 0]);
  assert.equal(parsePacket(data), { type: 3, receiverIndex: 9, counter, ciphertext: new Uint8Array(20).fill(0xcc) });
  const max = encodeData(1, Number.MAX_SAFE_INTEGER, new Uint8Array(16));
  assert.is((parsePacket(max) as { counter: number }).counter, Number.MAX_SAFE_INTEGER);
});

packets("rejects truncated, too long, reserved bytes, unknown types, huge counters", () => {
  const init = encodeInitiation(1, new Uint8Array(INITIATION_MIN - 8));
  const resp = encodeResponse(1, 2, new Uint8Array(48));
  const data = encodeData(1, 0, new Uint8Array(16));
  const bad: Uint8Array[] = [
    new Uint8Array(0), Uint8Array.of(1), Uint8Array.of(1, 0, 0),
    init.subarray(0, INITIATION_MIN - 1), new Uint8Array(INITIATION_MAX + 1).fill(0, 1).fill(1, 0, 1),
    resp.subarray(0, RESPONSE_LEN - 1), Uint8Array.from([...resp, 0]),
    data.subarray(0, 31), Uint8Array.from({ length: MAX_DATAGRAM + 1 }, (_, i) => (i === 0 ? 3 : 0)),
  ];
  for (const p of [init, resp, data]) {
    for (const at of [1, 2, 3]) {
      const q = p.slice();
      q[at] = 1;
      bad.push(q);
    }
  }
  for (const type of [0, 4, 0x64, 0xff]) {
    const q = data.slice();
    q[0] = type;
    bad.push(q);
  }
  const huge = data.slice();
  new DataView(huge.buffer).setUint32(12, 0x20_0000, true); // counter 2^53
  bad.push(huge);
  const top = data.slice();
  top.fill(0xff, 8, 16); // counter 2^64 − 1
  bad.push(top);
  for (const [i, p] of bad.entries()) assert.is(parsePacket(p), null, `case ${i}`);
  assert.throws(() => encodeInitiation(1, new Uint8Array(10)), RangeError);
  assert.throws(() => encodeData(2 ** 32, 0, new Uint8Array(16)), RangeError);
  assert.throws(() => encodeData(1, -1, new Uint8Array(16)), RangeError);
  assert.throws(() => encodeData(1, 0, new Uint8Array(MAX_DATAGRAM)), RangeError);
});

packets("the largest frame fits a datagram under 1200 bytes", () => {
  const biggest = encodeFrame({ ...message, index: 63, count: 64, sentAt: Number.MAX_SAFE_INTEGER, data: new Uint8Array(1024) });
  const datagram = encodeData(0xffffffff, 0, new Uint8Array(biggest.length + 16));
  assert.ok(datagram.length < 1200, `${datagram.length}`);
});

packets.run();

const replay = suite("wire: replay window");

replay("in order, out of order, duplicates, too old", () => {
  const w = new ReplayWindow();
  assert.ok(REPLAY_WINDOW >= 1024);
  assert.ok(w.update(0));
  assert.not.ok(w.update(0));
  assert.ok(w.update(5));
  assert.ok(w.update(3));
  assert.not.ok(w.update(3));
  assert.ok(w.update(31) && w.update(32) && w.update(63) && w.update(64));
  assert.not.ok(w.update(31) || w.update(32) || w.update(63) || w.update(64));
  assert.ok(w.update(10_000));
  assert.ok(w.check(10_000 - REPLAY_WINDOW) && w.update(10_000 - REPLAY_WINDOW), "the oldest counter in the window");
  assert.not.ok(w.check(10_000 - REPLAY_WINDOW - 1) || w.update(10_000 - REPLAY_WINDOW - 1), "just behind it");
  assert.not.ok(w.update(5), "far behind");
  assert.ok(w.update(Number.MAX_SAFE_INTEGER));
  assert.not.ok(w.update(Number.MAX_SAFE_INTEGER));
  assert.not.ok(w.update(10_001));
});

replay("check() never changes the window", () => {
  const w = new ReplayWindow();
  assert.ok(w.check(7) && w.check(7));
  assert.ok(w.update(7));
  assert.not.ok(w.check(7));
  assert.ok(w.check(3000) && w.check(6));
  assert.ok(w.update(6));
});

replay("matches a reference model on random sequences", () => {
  const rand = prng(99);
  for (let run = 0; run < 50; run++) {
    const w = new ReplayWindow();
    const seen = new Set<number>();
    let top = 0;
    let base = 0;
    for (let i = 0; i < 2000; i++) {
      const r = rand();
      if (r < 0.02) base += Math.floor(rand() * 5000); // occasional jumps
      const c = Math.max(0, base + Math.floor(rand() * 2600) - 2300);
      const expected = !seen.has(c) && (c > top || top - c <= REPLAY_WINDOW);
      assert.is(w.check(c), expected, `run ${run} step ${i} counter ${c}`);
      assert.is(w.update(c), expected);
      if (expected) {
        seen.add(c);
        top = Math.max(top, c);
      }
    }
  }
});

replay.run();

const fragments = suite("wire: fragmentation and reassembly");

fragments("cuts messages into fragments of at most 1024 bytes, 64 at most", () => {
  const id = id16(1);
  assert.equal(fragmentMessage(id, 5, new Uint8Array(0)).map((f) => f.data.length), [0]);
  assert.equal(fragmentMessage(id, 5, new Uint8Array(1024)).map((f) => f.data.length), [1024]);
  assert.equal(fragmentMessage(id, 5, new Uint8Array(1025)).map((f) => f.data.length), [1024, 1]);
  const all = fragmentMessage(id, 5, new Uint8Array(65536));
  assert.is(all.length, 64);
  assert.ok(all.every((f, i) => f.index === i && f.count === 64 && f.sentAt === 5));
  assert.throws(() => fragmentMessage(id, 5, new Uint8Array(65537)), RangeError);
});

const usage = newInboxUsage;
/** The application took the message: its id is remembered and its copies acked. */
const taken = (inbox: Inbox, arrival: unknown, now: number) => {
  const { key } = arrival as { key: string };
  inbox.hold(key);
  inbox.take(key, now);
};

fragments("reassembles out of order, delivers once, acks duplicates", () => {
  const u = usage();
  const inbox = new Inbox(DEFAULT_LIMITS, u, "g");
  const bytes = Uint8Array.from({ length: 3000 }, (_, i) => i & 0xff);
  const parts = fragmentMessage(id16(2), 77, bytes);
  assert.is(inbox.accept(parts[2]!, 0).kind, "partial");
  assert.is(inbox.accept(parts[0]!, 0).kind, "partial");
  assert.is(inbox.accept(parts[0]!, 0).kind, "partial");
  assert.is(u.partialBytes, 1024 + (3000 - 2048));
  const done = inbox.accept(parts[1]!, 0);
  assert.is(done.kind, "complete");
  assert.equal((done as { data: Uint8Array }).data, bytes);
  assert.is((done as { sentAt: number }).sentAt, 77);
  assert.is(u.partialBytes, 0);
  taken(inbox, done, 0);
  assert.is(inbox.accept(parts[1]!, 1).kind, "duplicate");
  assert.is(inbox.accept(parts[0]!, 29_999).kind, "duplicate");
  // After the dedupe time the id is forgotten (the sender gave up at 10 s).
  assert.is(inbox.accept(parts[0]!, 30_000).kind, "partial");
  inbox.clear();
  assert.equal([u.partialBytes, u.dedupe, u.bySource.size], [0, 0, 0]);
});

fragments("fragments that contradict their message are invalid", () => {
  const inbox = new Inbox(DEFAULT_LIMITS, usage(), "g");
  const [f0, f1] = fragmentMessage(id16(3), 10, new Uint8Array(2000));
  assert.is(inbox.accept(f0!, 0).kind, "partial");
  assert.is(inbox.accept({ ...f1!, count: 3 }, 0).kind, "invalid");
  assert.is(inbox.accept({ ...f1!, sentAt: 11 }, 0).kind, "invalid");
  assert.is(inbox.accept(f1!, 0).kind, "complete");
});

fragments("bounded: partial messages per session, bytes in all, delivered ids, expiry", () => {
  const limits = { ...DEFAULT_LIMITS, maxPartialPerSession: 2, maxPartialBytes: 5000, maxDedupePerSession: 3, maxDedupe: 4 };
  const u = usage();
  const one = new Inbox(limits, u, "g");
  const two = new Inbox(limits, u, "g");
  const frag = (n: number, i = 0) => fragmentMessage(id16(n), 0, new Uint8Array(3000))[i]!;
  assert.is(one.accept(frag(1), 0).kind, "partial");
  assert.is(one.accept(frag(2), 0).kind, "partial");
  assert.is(one.accept(frag(3), 0).kind, "refused", "a third partial message in one session");
  assert.is(one.accept(frag(1, 1), 0).kind, "partial");
  assert.is(u.partialBytes, 3072);
  assert.is(two.accept(frag(4), 0).kind, "partial");
  assert.is(two.accept(frag(5), 0).kind, "refused", "over the byte budget of all sessions");
  assert.is(two.size.partial, 1);
  assert.equal(one.nextDeadline(), 15_000);
  one.prune(15_000);
  assert.is(one.size.partial, 0, "partial messages expire");
  assert.is(u.partialBytes, 1024);
  two.clear();
  assert.is(u.partialBytes, 0);
  // Delivered ids: room for 3 per session and 4 in all; beyond that a complete message waits.
  const single = (n: number) => fragmentMessage(id16(n), 0, ascii("x"))[0]!;
  for (const n of [10, 11, 12]) {
    const a = one.accept(single(n), 0);
    assert.is(a.kind, "complete");
    taken(one, a, 0);
  }
  assert.is(one.accept(single(13), 0).kind, "refused");
  const b = two.accept(single(14), 0);
  taken(two, b, 0);
  assert.is(two.accept(single(15), 0).kind, "refused");
  assert.is(u.dedupe, 4);
  one.prune(30_000);
  assert.is(u.dedupe, 1);
  assert.is(one.accept(single(13), 30_000).kind, "complete");
});

fragments("a full session forgets ids taken DEDUPE_TIME_MIN ago first, never younger ones", () => {
  const limits = { ...DEFAULT_LIMITS, maxDedupePerSession: 3, maxDedupe: 100 };
  const u = usage();
  const inbox = new Inbox(limits, u, "g");
  const single = (n: number) => fragmentMessage(id16(n), 0, ascii("x"))[0]!;
  for (const [n, t] of [[1, 0], [2, 1000], [3, 2000]] as const) taken(inbox, inbox.accept(single(n), t), t);
  assert.is(inbox.accept(single(4), DEDUPE_TIME_MIN - 1).kind, "refused", "nothing is old enough yet");
  assert.is(inbox.accept(single(1), DEDUPE_TIME_MIN - 1).kind, "duplicate");
  const a = inbox.accept(single(4), DEDUPE_TIME_MIN);
  assert.is(a.kind, "complete", "the oldest id made room");
  taken(inbox, a, DEDUPE_TIME_MIN);
  const again = inbox.accept(single(1), DEDUPE_TIME_MIN + 1000);
  assert.is(again.kind, "complete", "1 was forgotten; 2 makes room for it now");
  taken(inbox, again, DEDUPE_TIME_MIN + 1000);
  assert.is(inbox.accept(single(3), DEDUPE_TIME_MIN + 1000).kind, "duplicate", "only as many as needed were forgotten");
  assert.is(u.dedupe, 3);
});

fragments("a single-fragment message needs no reassembly slot: incomplete messages never hold it up", () => {
  const limits = { ...DEFAULT_LIMITS, maxPartialPerSession: 2, maxDedupePerSession: 1 };
  const u = usage();
  const inbox = new Inbox(limits, u, "g");
  const multi = (n: number) => fragmentMessage(id16(n), 0, new Uint8Array(1500))[0]!;
  const single = (n: number) => fragmentMessage(id16(n), 5, ascii(`one ${n}`))[0]!;
  assert.is(inbox.accept(multi(1), 0).kind, "partial");
  assert.is(inbox.accept(multi(2), 0).kind, "partial");
  assert.is(inbox.accept(multi(3), 0).kind, "refused", "no slot for a third incomplete message");
  const one = inbox.accept(single(4), 0);
  assert.is(one.kind, "complete", "but a message of one fragment is complete on arrival");
  assert.equal(one, { kind: "complete", key: "\x04".repeat(16), data: ascii("one 4"), sentAt: 5 });
  assert.equal(inbox.size, { partial: 2, delivered: 0 }, "and took no slot");
  assert.is(u.partialBytes, 2048);
  taken(inbox, one, 0);
  assert.is(inbox.accept(single(4), 0).kind, "duplicate");
  // No room to remember another id: refused, and not buffered (its retransmission brings it again).
  assert.is(inbox.accept(single(5), 0).kind, "refused");
  assert.equal(inbox.size, { partial: 2, delivered: 1 });
  assert.is(u.partialBytes, 2048);
});

fragments.run();

const limiter = suite("wire: rate limiter");

limiter("token bucket: burst, then the rate", () => {
  const bucket = new TokenBucket(20, 5, 0);
  for (let i = 0; i < 5; i++) assert.ok(bucket.take(0));
  assert.not.ok(bucket.take(0));
  assert.not.ok(bucket.take(49));
  assert.ok(bucket.take(50));
  assert.not.ok(bucket.take(50));
  assert.ok(bucket.take(10_000));
});

limiter("per source, with a bounded table", () => {
  const l = new SourceLimiter(20, 2, 3);
  assert.ok(l.allow("a", 0) && l.allow("a", 0));
  assert.not.ok(l.allow("a", 0));
  assert.ok(l.allow("b", 0) && l.allow("c", 0));
  assert.ok(l.allow("d", 0), "a full table forgets its least recently used bucket: no lockout");
  assert.is(l.size, 3);
  assert.ok(l.allow("a", 0), "which starts afresh");
  assert.is(l.size, 3);
  assert.ok(l.allow("e", 1000), "full buckets are forgotten");
  assert.ok(l.size <= 3);
});

limiter.run();

const fast = suite("wire: frames read and written by hand equal the bencode codec");

fast("random message and ack frames: the same bytes as encodeDict, decoded back exactly", () => {
  const rand = prng(11);
  for (let i = 0; i < 2000; i++) {
    const count = 1 + Math.floor(rand() * 64);
    const m: MessageFrame = {
      type: "message", id: id16(i & 0xff), index: Math.floor(rand() * count), count,
      sentAt: i % 5 === 0 ? Number.MAX_SAFE_INTEGER - i : Math.floor(rand() * 10 ** Math.floor(rand() * 16)),
      data: new Uint8Array(Math.floor(rand() * 1025)).fill(i & 0x7f),
    };
    const bytes = encodeFrame(m);
    assert.equal(bytes, encodeDict({ c: m.count, d: m.data, i: m.id, n: m.index, s: m.sentAt, y: ascii("m") }));
    assert.equal(decodeFrame(bytes), m);
    assert.equal(encodeFrame({ type: "ack", id: m.id }), encodeDict({ i: m.id, y: ascii("a") }));
  }
});

fast("mutated frames: decodeFrame answers as the generic decoder does", () => {
  const rand = prng(5);
  let valid = 0;
  for (let i = 0; i < 4000; i++) {
    const base = i % 3 === 0
      ? encodeFrame({ type: "ack", id: id16(i & 0xff) })
      : encodeFrame({ ...message, index: i % 3, sentAt: i * 997, data: new Uint8Array(i % 40).fill(0x30 + (i % 10)) });
    const q = base.slice();
    for (let k = 1 + Math.floor(rand() * 2); k > 0; k--) q[Math.floor(rand() * q.length)] = "di0123456789e:-amy1"[Math.floor(rand() * 19)]!.charCodeAt(0);
    const cut = rand() < 0.1 ? q.subarray(0, Math.floor(rand() * q.length)) : q;
    const got = decodeFrame(cut);
    assert.equal(got, _decodeFrameBencode(cut), new TextDecoder("latin1").decode(cut));
    if (got) valid++;
  }
  assert.ok(valid > 500, `${valid}`);
});

fast.run();
