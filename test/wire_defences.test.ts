// The pieces of the load defences on their own: the cookie packets byte by byte (docs/PROTOCOL.md
// §8), source groups, and when the mailbox counts a message as taken.
import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { blake2b } from "@noble/hashes/blake2.js";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { DEFAULT_LIMITS, INITIATION_MIN } from "../src/wire/constants.ts";
import { Admission } from "../src/wire/admission.ts";
import { CookieJar, openCookieReply, withCookie } from "../src/wire/cookie.ts";
import type { IncomingMessage } from "../src/wire/delivery.ts";
import { groupOf } from "../src/wire/fairness.ts";
import { Mailbox } from "../src/wire/mailbox.ts";
import { parsePacket } from "../src/wire/packets.ts";
import { seededBytes, settle } from "./_wire_sim.ts";

const cookies = suite("wire: cookie packets");
const ascii = (s: string) => new TextEncoder().encode(s);

cookies("type 9 and type 10, byte by byte", () => {
  const responder = new Uint8Array(32).fill(7);
  const jar = new CookieJar(responder, seededBytes(1), 0);
  const initiation = Uint8Array.from({ length: INITIATION_MIN }, (_, i) => (i < 4 ? [1, 0, 0, 0][i]! : i));
  const from = { host: "127.0.0.5", port: 4242 };
  const reply = jar.reply(initiation, from, 0);
  assert.is(reply.length, 64);
  assert.equal(Array.from(reply.subarray(0, 8)), [9, 0, 0, 0, ...initiation.subarray(4, 8)]);
  assert.equal(parsePacket(reply), { type: 9, receiverIndex: new DataView(initiation.buffer).getUint32(4, true), bytes: reply });
  // Independently: key = BLAKE2b-256("chat/1 cookie" || responder), aad = sender_index || message 1.
  const key = blake2b(Uint8Array.from([...ascii("chat/1 cookie"), ...responder]), { dkLen: 32 });
  const cookie = xchacha20poly1305(key, reply.subarray(8, 32), initiation.subarray(4)).decrypt(reply.subarray(32));
  assert.is(cookie.length, 16);
  assert.equal(openCookieReply(reply, initiation, responder), cookie);
  assert.is(openCookieReply(reply, initiation, new Uint8Array(32).fill(8)), null, "sealed to the responder's key");
  const other = initiation.slice();
  other[100]! ^= 1;
  assert.is(openCookieReply(reply, other, responder), null, "bound to its initiation");

  const proven = withCookie(initiation, cookie);
  assert.is(proven.length, initiation.length + 16);
  assert.equal(Array.from(proven.subarray(0, 4)), [10, 0, 0, 0]);
  assert.equal(proven.subarray(4, initiation.length), initiation.subarray(4));
  const macked = proven.subarray(0, initiation.length);
  assert.equal(proven.subarray(initiation.length), blake2b(macked, { key: cookie, dkLen: 16 }));
  const parsed = parsePacket(proven) as { type: number; message: Uint8Array };
  assert.is(parsed.type, 10);
  assert.equal(parsed.message, initiation.subarray(8));
  assert.ok(jar.check(proven, from, 0));
  assert.not.ok(jar.check(proven, { host: from.host, port: 4243 }, 0), "another port");
  assert.not.ok(jar.check(proven, { host: "127.0.0.6", port: 4242 }, 0), "another IP");
  // A reply to the type 10 form binds the same bytes; the cookie is good for 2 to 4 minutes.
  assert.ok(openCookieReply(jar.reply(proven, from, 0), initiation, responder));
  assert.ok(jar.check(proven, from, 239_999));
  assert.not.ok(jar.check(proven, from, 240_000 + 1));
});

cookies.run();

const admission = suite("wire: admission decisions");

admission("under load a cookie; a proven address has its own rate, and one IP at most 4 times it", () => {
  const a = new Admission({ ...DEFAULT_LIMITS, globalRate: 1000, globalBurst: 1000 }, 0);
  const from = (port: number) => ({ host: "127.0.1.1", port });
  assert.is(a.decide(from(1), false, 0, 0), "read");
  for (let i = 0; i < 4; i++) a.decide(from(1), false, 0, 0);
  assert.is(a.decide(from(2), false, 0, 0), "cookie", "the IP is over its rate: prove the address");
  assert.is(a.decide(from(2), true, 0, 0), "read", "proven: its own bucket");
  assert.is(a.decide({ host: "127.0.2.1", port: 1 }, false, 600, 0), "cookie", "table half full: under load");
  assert.is(a.decide({ host: "127.0.2.2", port: 1 }, false, 0, 500), "cookie", "and for 1 s after");
  assert.is(a.decide({ host: "127.0.2.3", port: 1 }, false, 0, 1000), "read");
  let read = 0;
  for (let port = 100; port < 140; port++) for (let i = 0; i < 5; i++) if (a.decide(from(port), true, 0, 2000) === "read") read++;
  assert.is(read, 4 * DEFAULT_LIMITS.sourceBurst, "one IP proving 40 ports: 4 bursts");
});

admission("t within ±120 s of our clock, and newer than the last from that identity", () => {
  const a = new Admission(DEFAULT_LIMITS, 0);
  const now = 1_000_000;
  assert.is(a.fresh("k", now + 120_001, now), "stale");
  assert.is(a.fresh("k", now - 120_001, now), "stale");
  assert.is(a.fresh("k", now - 120_000, now), undefined);
  a.accept("k", now, now);
  assert.is(a.fresh("k", now, now), "timestamp");
  assert.is(a.fresh("k", now + 1, now), undefined);
});

admission.run();

const groups = suite("wire: source groups");

groups("/24 for IPv4 (and v4-mapped), /48 for IPv6", () => {
  assert.is(groupOf("127.0.1.7"), "127.0.1.0/24");
  assert.is(groupOf("::ffff:127.0.1.7"), "127.0.1.0/24");
  assert.is(groupOf("2001:db8:1:2::5"), "2001:db8:1::/48");
  assert.is(groupOf("2001:db8::1"), "2001:db8:0::/48");
  assert.is(groupOf("2001:0db8:0001:ffff:0:0:0:1"), "2001:db8:1::/48");
  assert.is(groupOf("::1"), "0:0:0::/48");
});

groups.run();

const mailbox = suite("wire: mailbox, taken and abandoned");

function message(n: number): IncomingMessage {
  return { from: new Uint8Array(32), id: Uint8Array.of(n), text: `m${n}`, sentAt: 0, receivedAt: 0, address: { host: "h", port: 1 }, path: "direct" };
}

function receipts() {
  const log: string[] = [];
  return { log, of: (n: number) => ({ taken: () => log.push(`taken ${n}`), abandoned: () => log.push(`abandoned ${n}`) }) };
}

mailbox("a listener takes at once; with nobody listening, messages wait for the first iterator", async () => {
  const r = receipts();
  const box = new Mailbox(DEFAULT_LIMITS);
  assert.ok(box.offer(message(1), 2, "p", r.of(1)));
  assert.equal(r.log, [], "nobody has it yet");
  const it = box.messages();
  assert.is((await it.next()).value?.text, "m1");
  assert.equal(r.log, ["taken 1"]);
  const got: string[] = [];
  box.listen((m) => got.push(m.text));
  const pending = it.next();
  assert.ok(box.offer(message(2), 2, "p", r.of(2)));
  assert.is((await pending).value?.text, "m2");
  assert.equal(got, ["m2"]);
  assert.equal(r.log, ["taken 1", "taken 2"]);
});

mailbox("two iterators: taken when both yielded it; one that ends lets go of what it did not read", async () => {
  const r = receipts();
  const box = new Mailbox(DEFAULT_LIMITS);
  const one = box.messages(), two = box.messages();
  box.offer(message(1), 2, "p", r.of(1));
  box.offer(message(2), 2, "p", r.of(2));
  await one.next();
  assert.equal(r.log, []);
  await two.next();
  assert.equal(r.log, ["taken 1"]);
  await one.return!();
  await settle();
  assert.equal(r.log, ["taken 1"], "two still has m2 to read");
  await two.return!();
  assert.equal(r.log, ["taken 1", "abandoned 2"]);
  assert.equal(box.queued, { count: 0, bytes: 0 });
});

mailbox("bounded: in all and per peer, in count and bytes", () => {
  const box = new Mailbox({ maxQueued: 3, maxQueuedBytes: 100, maxQueuedPerPeer: 2, maxQueuedBytesPerPeer: 60 });
  const r = receipts();
  box.messages();
  assert.ok(box.offer(message(1), 10, "p", r.of(1)));
  assert.ok(box.offer(message(2), 10, "p", r.of(2)));
  assert.not.ok(box.offer(message(3), 10, "p", r.of(3)), "two per peer");
  assert.not.ok(box.offer(message(4), 61, "q", r.of(4)), "60 bytes per peer");
  assert.ok(box.offer(message(5), 60, "q", r.of(5)));
  assert.not.ok(box.offer(message(6), 1, "s", r.of(6)), "three in all");
  assert.equal(box.queued, { count: 3, bytes: 80 });
  box.close();
  assert.equal(r.log, []);
});

mailbox.run();
