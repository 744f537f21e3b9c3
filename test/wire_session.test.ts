// Two or more endpoints over an in-memory link in virtual time: handshake, delivery, replies,
// size limits, loss, timeouts, expiry and key erasure.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { DeliveryError } from "../src/wire/endpoint.ts";
import { hex, node, SimNet, testIdentity, track, VirtualTime } from "./_wire_sim.ts";

const test = suite("wire: sessions");

const isZero = (b: Uint8Array) => b.every((x) => x === 0);

test("handshake, delivery, and a reply on the same session", async () => {
  const time = new VirtualTime();
  const net = new SimNet(time);
  const a = node(net, 1);
  const b = node(net, 2);
  const sent = track(a.endpoint.sendMessage(b.identity.publicKey, b.address, "hello"));
  await time.until(() => sent.done);
  assert.ok(sent.value, String(sent.error));
  assert.is(sent.value!.id.length, 16);
  assert.is(sent.value!.rttMs, 20); // four one-way trips of 5 ms: initiation, response, data, ack
  assert.is(b.inbox.length, 1);
  assert.is(b.inbox[0]!.text, "hello");
  assert.equal(b.inbox[0]!.from, a.identity.publicKey);
  assert.equal(b.inbox[0]!.id, sent.value!.id);
  assert.is(b.inbox[0]!.sentAt, time.now - 20);

  const replied = track(b.endpoint.reply(a.identity.publicKey, "hi back"));
  await time.until(() => replied.done);
  assert.ok(replied.value, String(replied.error));
  assert.is(replied.value!.rttMs, 10);
  assert.equal(a.inbox.map((m) => m.text), ["hi back"]);
  assert.equal(a.inbox[0]!.from, b.identity.publicKey);
  // One handshake in all: the reply travelled back on the same session.
  assert.is(a.endpoint.stats.initiationsSent, 1);
  assert.is(b.endpoint.stats.initiationsSent, 0);
  assert.is(a.endpoint.stats.sessions, 1);
  assert.is(b.endpoint.stats.sessions, 1);
  const [sa] = a.endpoint._sessions();
  const [sb] = b.endpoint._sessions();
  assert.is(sa!.localIndex, sb!.remoteIndex);
  assert.is(sb!.localIndex, sa!.remoteIndex);
  assert.ok(a.endpoint.hasSession(b.identity.publicKey));
  a.endpoint.close();
  b.endpoint.close();
  await time.advance(100); // the close frames in flight
  assert.is(time.pending, 0, "no timer left behind");
});

test("a 64 KiB message arrives whole; one byte more is refused before anything is sent", async () => {
  const time = new VirtualTime();
  const net = new SimNet(time);
  const a = node(net, 1);
  const b = node(net, 2);
  // 2-byte characters placed so that fragment boundaries cut through them.
  const text = "x" + "é".repeat(32767) + "y";
  assert.is(new TextEncoder().encode(text).length, 65536);
  const sent = track(a.endpoint.sendMessage(b.identity.publicKey, b.address, text));
  await time.until(() => sent.done);
  assert.ok(sent.value, String(sent.error));
  assert.is(b.inbox.length, 1);
  assert.ok(b.inbox[0]!.text === text);
  const data = net.log.filter((d) => d.data[0] === 3);
  assert.ok(net.log.every((d) => d.data.length < 1200), "every datagram under 1200 bytes");
  assert.is(data.filter((d) => d.from === a.address).length, 64);

  const before = net.log.length;
  const tooBig = track(a.endpoint.sendMessage(b.identity.publicKey, b.address, text + "z"));
  await time.advance(1);
  assert.ok(tooBig.error instanceof Error);
  assert.is((tooBig.error as unknown as { code: string }).code, "MESSAGE_TOO_LARGE");
  assert.is((tooBig.error as unknown as { exitCode: number }).exitCode, 2);
  assert.is(net.log.length, before);
  a.endpoint.close();
  b.endpoint.close();
});

test("the empty message and a message of exactly one fragment", async () => {
  const time = new VirtualTime();
  const net = new SimNet(time);
  const a = node(net, 1);
  const b = node(net, 2);
  const one = track(a.endpoint.sendMessage(b.identity.publicKey, b.address, ""));
  const two = track(a.endpoint.sendMessage(b.identity.publicKey, b.address, "k".repeat(1024)));
  await time.until(() => one.done && two.done);
  assert.ok(one.value && two.value);
  assert.equal(b.inbox.map((m) => m.text.length).sort(), [0, 1024]);
  assert.is(net.log.filter((d) => d.from === a.address && d.data[0] === 3).length, 2);
  a.endpoint.close();
  b.endpoint.close();
});

test("lossy link (20 % loss, duplication, reordering): each message delivered exactly once and acknowledged", async () => {
  const time = new VirtualTime();
  const net = new SimNet(time, { loss: 0.2, duplicate: 0.1, reorder: 0.1, latency: 20, jitter: 30, seed: 42 });
  const a = node(net, 1);
  const b = node(net, 2);
  const texts = Array.from({ length: 40 }, (_, i) => (i % 10 === 3 ? `big ${i} ` + "z".repeat(3000) : `message ${i}`));
  const sends = texts.map((t) => track(a.endpoint.sendMessage(b.identity.publicKey, b.address, t)));
  await time.until(() => sends.every((s) => s.done), 30_000);
  for (const [i, s] of sends.entries()) assert.ok(s.value, `message ${i}: ${String(s.error)}`);
  assert.equal(b.inbox.map((m) => m.text).sort(), [...texts].sort());
  assert.is(new Set(b.inbox.map((m) => hex(m.id))).size, texts.length);

  // And back, on the same session, while more go forward.
  const replies = texts.slice(0, 10).map((t) => track(b.endpoint.reply(a.identity.publicKey, `re: ${t}`)));
  const more = texts.slice(0, 10).map((t) => track(a.endpoint.sendMessage(b.identity.publicKey, b.address, `again: ${t}`)));
  await time.until(() => [...replies, ...more].every((s) => s.done), 30_000);
  for (const s of [...replies, ...more]) assert.ok(s.value, String(s.error));
  assert.is(a.inbox.length, 10);
  assert.is(b.inbox.length, 50);
  await time.advance(20_000); // late duplicates still in the network change nothing
  assert.is(a.inbox.length, 10);
  assert.is(b.inbox.length, 50);
  assert.ok(a.endpoint.stats.retransmissions > 0, "the loss was real");
  assert.ok(b.endpoint.stats.dropped.replay > 0, "the duplication was real");
  assert.is(a.endpoint.stats.messagesSent, 50);
  assert.is(b.endpoint.stats.messagesReceived, 50);
  a.endpoint.close();
  b.endpoint.close();
});

test("lossy link, many seeds: exactly once every time", async () => {
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    const time = new VirtualTime();
    const net = new SimNet(time, { loss: 0.2, duplicate: 0.2, reorder: 0.2, latency: 15, jitter: 40, seed });
    const a = node(net, 1);
    const b = node(net, 2);
    const sends = Array.from({ length: 12 }, (_, i) => track(a.endpoint.sendMessage(b.identity.publicKey, b.address, `m${i}`)));
    await time.until(() => sends.every((s) => s.done), 30_000);
    const delivered = sends.filter((s) => s.value).length;
    const ids = b.inbox.map((m) => hex(m.id));
    assert.is(new Set(ids).size, ids.length, `seed ${seed}: a duplicate delivery`);
    assert.is(delivered, 12, `seed ${seed}: ${sends.find((s) => s.error)?.error}`);
    assert.is(b.inbox.length, 12, `seed ${seed}`);
    a.endpoint.close();
    b.endpoint.close();
  }
});

test("no response: a new initiation at 0, 0.5, 1.5, 3.5, 7.5 s, then HANDSHAKE_TIMEOUT at 10 s", async () => {
  const time = new VirtualTime();
  const net = new SimNet(time);
  const a = node(net, 1);
  const b = node(net, 2);
  net.detach(b.address);
  const start = time.now;
  const sent = track(a.endpoint.sendMessage(b.identity.publicKey, b.address, "anyone?"));
  await time.until(() => sent.done, 20_000, 100);
  assert.ok(sent.error instanceof DeliveryError);
  assert.is((sent.error as DeliveryError).reason, "HANDSHAKE_TIMEOUT");
  assert.is((sent.error as DeliveryError).exitCode, 1);
  const inits = net.log.filter((d) => d.data[0] === 1);
  assert.equal(inits.map((d) => d.at - start), [0, 500, 1500, 3500, 7500]);
  // Each is new: distinct indices and bytes (fresh ephemeral, new t).
  assert.is(new Set(inits.map((d) => hex(d.data.subarray(4, 8)))).size, 5);
  assert.is(new Set(inits.map((d) => hex(d.data.subarray(8, 40)))).size, 5);
  assert.is(a.endpoint.stats.handshakes, 0);
  assert.is(a.endpoint._initiations().length, 0);
  assert.is(time.pending, 0);
  a.endpoint.close();
  b.endpoint.close();
});

test("a late response to an earlier attempt still completes the handshake", async () => {
  const time = new VirtualTime();
  const net = new SimNet(time, { latency: 400 }); // 800 ms round trip > the 500 ms retry
  const a = node(net, 1);
  const b = node(net, 2);
  const sent = track(a.endpoint.sendMessage(b.identity.publicKey, b.address, "slow"));
  await time.until(() => sent.done);
  assert.ok(sent.value, String(sent.error));
  assert.is(a.endpoint.stats.initiationsSent, 2);
  assert.is(b.endpoint.stats.handshakesAnswered, 2);
  assert.is(a.endpoint._initiations().length, 0, "the other attempt is erased");
  // B's unconfirmed second session goes away 10 s after its response.
  await time.advance(10_000);
  assert.is(b.endpoint.stats.pendingSessions, 0);
  assert.is(b.endpoint.stats.sessions, 1);
  a.endpoint.close();
  b.endpoint.close();
});

test("unacknowledged data: every fragment again at 250, 750, 1750, 3750, 7750 ms, DELIVERY_TIMEOUT at 10 s", async () => {
  const time = new VirtualTime();
  const net = new SimNet(time);
  const a = node(net, 1);
  const b = node(net, 2);
  const first = track(a.endpoint.sendMessage(b.identity.publicKey, b.address, "one"));
  await time.until(() => first.done);
  net.filter = (d) => d.data[0] !== 3 || d.from !== a.address; // A's data now vanishes
  const start = time.now;
  const sent = track(a.endpoint.sendMessage(b.identity.publicKey, b.address, "x".repeat(1500)));
  await time.until(() => sent.done, 20_000, 50);
  assert.is((sent.error as DeliveryError).reason, "DELIVERY_TIMEOUT");
  assert.is(time.now - start, 10_000);
  const times = net.log.filter((d) => d.at >= start && d.data[0] === 3 && d.from === a.address).map((d) => d.at - start);
  assert.equal(times, [0, 0, 250, 250, 750, 750, 1750, 1750, 3750, 3750, 7750, 7750]);
  // Nothing came back on that session since: A dropped it, so the next message handshakes anew.
  assert.is(a.endpoint.stats.sessions, 0);
  net.filter = undefined;
  const again = track(a.endpoint.sendMessage(b.identity.publicKey, b.address, "after"));
  await time.until(() => again.done);
  assert.ok(again.value, String(again.error));
  assert.is(a.endpoint.stats.initiationsSent, 2);
  a.endpoint.close();
  b.endpoint.close();
});

test("a peer that restarted: the stale session fails once, the next message handshakes anew", async () => {
  const time = new VirtualTime();
  const net = new SimNet(time);
  const a = node(net, 1);
  let b = node(net, 2);
  const first = track(a.endpoint.sendMessage(b.identity.publicKey, b.address, "before"));
  await time.until(() => first.done);
  const crashed = b.endpoint;
  b = node(net, 2); // same identity and address, no sessions
  const lost = track(a.endpoint.sendMessage(b.identity.publicKey, b.address, "into the void"));
  await time.until(() => lost.done, 20_000, 100);
  assert.is((lost.error as DeliveryError).reason, "DELIVERY_TIMEOUT");
  assert.is(b.endpoint.stats.dropped.unknownIndex, 6);
  const next = track(a.endpoint.sendMessage(b.identity.publicKey, b.address, "after"));
  await time.until(() => next.done);
  assert.ok(next.value, String(next.error));
  assert.equal(b.inbox.map((m) => m.text), ["after"]);
  net.detach(b.address);
  crashed.close();
  a.endpoint.close();
  b.endpoint.close();
});

test("a responder session that receives no data within 10 s of its response is dropped", async () => {
  const time = new VirtualTime();
  const net = new SimNet(time);
  const a = node(net, 1);
  const b = node(net, 2);
  net.filter = (d) => d.data[0] !== 3; // the handshake completes, no data ever arrives
  const sent = track(a.endpoint.sendMessage(b.identity.publicKey, b.address, "lost"));
  await time.advance(5); // B answers at 5 ms
  await time.advance(9_999);
  assert.is(b.endpoint.stats.pendingSessions, 1);
  const [pending] = b.endpoint._sessions();
  await time.advance(1);
  assert.is(b.endpoint.stats.pendingSessions, 0);
  assert.is(b.endpoint._sessions().length, 0);
  assert.not.ok(pending!.alive);
  assert.is(pending!._keys.send, undefined);
  await time.until(() => sent.done);
  a.endpoint.close();
  b.endpoint.close();
});

test("close: {y:x} erases the keys on both sides, and the next message handshakes anew", async () => {
  const time = new VirtualTime();
  const net = new SimNet(time);
  const a = node(net, 1);
  const b = node(net, 2);
  const sent = track(a.endpoint.sendMessage(b.identity.publicKey, b.address, "hi"));
  await time.until(() => sent.done);
  const [sa] = a.endpoint._sessions();
  const [sb] = b.endpoint._sessions();
  const keys = [sa!._keys.send!, sa!._keys.receive!, sb!._keys.send!, sb!._keys.receive!];
  const keyBytes = keys.map((k) => k._k!);
  assert.ok(keyBytes.every((k) => k.length === 32 && !isZero(k)));
  a.endpoint.closeSession(b.identity.publicKey);
  await time.advance(100);
  assert.ok(keyBytes.every(isZero), "key bytes wiped");
  assert.ok(keys.every((k) => k._k === undefined), "key references dropped");
  assert.not.ok(sa!.alive);
  assert.not.ok(sb!.alive);
  assert.is(a.endpoint.stats.sessions, 0);
  assert.is(b.endpoint.stats.sessions, 0);
  assert.is(a.endpoint.stats.peers, 0);
  assert.is(b.endpoint.stats.peers, 0);
  assert.not.ok(b.endpoint.hasSession(a.identity.publicKey));
  const replied = track(b.endpoint.reply(a.identity.publicKey, "gone?"));
  await time.advance(1);
  assert.is((replied.error as DeliveryError).reason, "NO_SESSION");
  const again = track(a.endpoint.sendMessage(b.identity.publicKey, b.address, "new session"));
  await time.until(() => again.done);
  assert.ok(again.value);
  assert.is(a.endpoint.stats.initiationsSent, 2);
  a.endpoint.close();
  b.endpoint.close();
});

test("endpoint close: keys wiped, messages in flight fail with ENDPOINT_CLOSED, no timers left", async () => {
  const time = new VirtualTime();
  const net = new SimNet(time);
  const a = node(net, 1);
  const b = node(net, 2);
  const c = node(net, 3);
  const first = track(a.endpoint.sendMessage(b.identity.publicKey, b.address, "hi"));
  await time.until(() => first.done);
  net.filter = (d) => d.from !== b.address; // B falls silent
  const inflight = track(a.endpoint.sendMessage(b.identity.publicKey, b.address, "pending"));
  const handshaking = track(a.endpoint.sendMessage(c.identity.publicKey, { host: "10.9.9.9", port: 1 }, "nobody there"));
  await time.advance(300);
  const attempt = a.endpoint._initiations()[0]!;
  const ephemeral = attempt._handshake!._e!.secretKey;
  const keys = a.endpoint._sessions().flatMap((s) => [s._keys.send!._k!, s._keys.receive!._k!]);
  a.endpoint.close();
  await time.advance(1);
  assert.is((inflight.error as DeliveryError).reason, "ENDPOINT_CLOSED");
  assert.is((handshaking.error as DeliveryError).reason, "ENDPOINT_CLOSED");
  assert.ok(keys.length === 2 && keys.every(isZero));
  assert.ok(isZero(ephemeral), "the pending attempt's ephemeral key is wiped");
  assert.is(attempt._handshake, undefined);
  assert.is(a.endpoint._sessions().length, 0);
  const late = track(a.endpoint.sendMessage(b.identity.publicKey, b.address, "after close"));
  await time.advance(1);
  assert.is((late.error as DeliveryError).reason, "ENDPOINT_CLOSED");
  b.endpoint.close();
  c.endpoint.close();
  await time.advance(100);
  assert.is(time.pending, 0);
});

test("the ephemeral key and handshake state are wiped as soon as the handshake completes", async () => {
  const time = new VirtualTime();
  const net = new SimNet(time);
  const a = node(net, 1);
  const b = node(net, 2);
  const sent = track(a.endpoint.sendMessage(b.identity.publicKey, b.address, "hi"));
  const attempt = a.endpoint._initiations()[0]!;
  const hs = attempt._handshake!;
  const ephemeral = hs._e!.secretKey;
  const chainingKey = hs._ss!._ck;
  assert.not.ok(isZero(ephemeral));
  await time.until(() => sent.done);
  assert.ok(isZero(ephemeral));
  assert.ok(isZero(chainingKey));
  assert.is(hs._e, undefined);
  assert.is(hs._ss, undefined);
  assert.is(attempt._handshake, undefined);
  a.endpoint.close();
  b.endpoint.close();
});

test("idle expiry after 10 minutes erases both sides' keys; the next message handshakes anew", async () => {
  const time = new VirtualTime();
  const net = new SimNet(time);
  const a = node(net, 1);
  const b = node(net, 2);
  const sent = track(a.endpoint.sendMessage(b.identity.publicKey, b.address, "hi"));
  await time.until(() => sent.done);
  const keys = [...a.endpoint._sessions(), ...b.endpoint._sessions()].flatMap((s) => [s._keys.send!._k!, s._keys.receive!._k!]);
  assert.is(keys.length, 4);
  await time.advance(9 * 60_000);
  assert.is(a.endpoint.stats.sessions, 1);
  assert.not.ok(keys.some(isZero));
  await time.advance(60_000);
  assert.ok(keys.every(isZero));
  assert.is(a.endpoint.stats.sessions, 0);
  assert.is(b.endpoint.stats.sessions, 0);
  assert.is(time.pending, 0, "an idle endpoint holds no timers");
  const again = track(a.endpoint.sendMessage(b.identity.publicKey, b.address, "later"));
  await time.until(() => again.done);
  assert.ok(again.value);
  assert.is(a.endpoint.stats.initiationsSent, 2);
  a.endpoint.close();
  b.endpoint.close();
});

test("a session busy for an hour expires at 1 h; messages near the end already use a new one", async () => {
  const time = new VirtualTime();
  const net = new SimNet(time);
  const a = node(net, 1);
  const b = node(net, 2);
  const start = time.now;
  const first = track(a.endpoint.sendMessage(b.identity.publicKey, b.address, "start"));
  await time.until(() => first.done);
  const [original] = a.endpoint._sessions();
  // One message every 5 minutes keeps it from idling.
  for (let minute = 5; minute < 60; minute += 5) {
    await time.advance(start + minute * 60_000 - time.now);
    const s = track(a.endpoint.sendMessage(b.identity.publicKey, b.address, `at ${minute} min`));
    await time.until(() => s.done);
    assert.ok(s.value);
  }
  assert.is(a.endpoint.stats.initiationsSent, 1);
  await time.advance(start + 59 * 60_000 + 45_000 - time.now); // inside the rekey margin
  const late = track(a.endpoint.sendMessage(b.identity.publicKey, b.address, "at 59:45"));
  await time.until(() => late.done);
  assert.ok(late.value);
  assert.is(a.endpoint.stats.initiationsSent, 2, "a new handshake instead of a dying session");
  assert.ok(original!.alive);
  await time.advance(start + 60 * 60_000 + 100 - time.now);
  assert.not.ok(original!.alive, "the old session is gone at 1 h");
  assert.is(a.endpoint.stats.sessions, 1);
  assert.is(b.inbox.length, 13);
  a.endpoint.close();
  b.endpoint.close();
});

test("messages() yields deliveries in order and ends on close", async () => {
  const time = new VirtualTime();
  const net = new SimNet(time);
  const a = node(net, 1);
  const b = node(net, 2);
  const got: string[] = [];
  const reading = (async () => {
    for await (const m of b.endpoint.messages()) got.push(m.text);
  })();
  for (const t of ["one", "two", "three"]) {
    const s = track(a.endpoint.sendMessage(b.identity.publicKey, b.address, t));
    await time.until(() => s.done);
  }
  b.endpoint.close();
  await reading;
  assert.equal(got, ["one", "two", "three"]);
  a.endpoint.close();
});

test("both sides initiate at once: two sessions, every message delivered once", async () => {
  const time = new VirtualTime();
  const net = new SimNet(time);
  const a = node(net, 1);
  const b = node(net, 2);
  const x = track(a.endpoint.sendMessage(b.identity.publicKey, b.address, "from a"));
  const y = track(b.endpoint.sendMessage(a.identity.publicKey, a.address, "from b"));
  await time.until(() => x.done && y.done);
  assert.ok(x.value && y.value);
  assert.equal(a.inbox.map((m) => m.text), ["from b"]);
  assert.equal(b.inbox.map((m) => m.text), ["from a"]);
  const z = track(a.endpoint.reply(b.identity.publicKey, "again"));
  await time.until(() => z.done);
  assert.ok(z.value);
  assert.equal(b.inbox.map((m) => m.text), ["from a", "again"]);
  a.endpoint.close();
  b.endpoint.close();
});

test("sessionAddress: where the usable session's packets come from, following the peer as it roams", async () => {
  const time = new VirtualTime();
  const net = new SimNet(time);
  const a = node(net, 1);
  let bAt = { host: "127.0.0.2", port: 7000 };
  const b = node(net, 2, { send: (data, to) => net.transmit(bAt, to, data) });
  assert.is(a.endpoint.sessionAddress(b.identity.publicKey), undefined, "no session yet");
  const sent = track(a.endpoint.sendMessage(b.identity.publicKey, b.address, "hello"));
  await time.advance(1);
  assert.is(a.endpoint.sessionAddress(b.identity.publicKey), undefined, "still handshaking");
  await time.until(() => sent.done);
  assert.equal(a.endpoint.sessionAddress(b.identity.publicKey), b.address);
  assert.equal(b.endpoint.sessionAddress(a.identity.publicKey), a.address);
  assert.is(a.endpoint.sessionAddress(testIdentity(9).publicKey), undefined, "an unknown peer");

  // B moves (a new NAT mapping, say): its next authenticated packet moves A's session.
  bAt = { host: "198.51.100.7", port: 40_000 };
  net.attach(bAt, (data, from) => b.endpoint.receive(data, from));
  const replied = track(b.endpoint.reply(a.identity.publicKey, "from elsewhere"));
  await time.until(() => replied.done);
  assert.ok(replied.value, String(replied.error));
  assert.equal(a.endpoint.sessionAddress(b.identity.publicKey), bAt);
  const returned = a.endpoint.sessionAddress(b.identity.publicKey) as { port: number };
  returned.port = 1; // a copy: the session's own address is not the caller's to change
  assert.equal(a.endpoint.sessionAddress(b.identity.publicKey), bAt);

  a.endpoint.closeSession(b.identity.publicKey);
  assert.is(a.endpoint.sessionAddress(b.identity.publicKey), undefined, "closed");
  a.endpoint.close();
  b.endpoint.close();
});

test("64 × 64 KiB queued at once, the receiver's socket buffer holding 100 datagrams: all delivered, the window probed past it once", async () => {
  const time = new VirtualTime();
  const net = new SimNet(time, { receiveBuffer: 100 });
  const a = node(net, 1);
  const b = node(net, 2);
  const first = track(a.endpoint.sendMessage(b.identity.publicKey, b.address, "hello")); // the handshake
  await time.until(() => first.done);
  const big = (i: number) => `${String(i).padStart(2, "0")}` + "x".repeat(65534);
  const sends = Array.from({ length: 64 }, (_, i) => track(a.endpoint.sendMessage(b.identity.publicKey, b.address, big(i))));
  const started = time.now;
  await time.until(() => sends.every((s) => s.done), 60_000);
  const failed = sends.filter((s) => !s.value).length;
  assert.is(failed, 0, `${failed} of 64 not delivered: ${String(sends.find((s) => s.error)?.error)}`);
  assert.is(b.inbox.length, 65);
  assert.equal(b.inbox.slice(1).map((m) => m.text.slice(0, 2)).sort(), sends.map((_, i) => big(i).slice(0, 2)));
  assert.is(b.endpoint.stats.dropped.refused, 0);
  // Two messages in flight overflowed the buffer once; the window then stayed at one message (a
  // window that probed again would lose a burst each time, and wait out a timeout each time).
  assert.ok(net.overflows > 0);
  assert.ok(a.endpoint.stats.retransmissions >= 1 && a.endpoint.stats.retransmissions <= 4, `${a.endpoint.stats.retransmissions} resent`);
  // One 64 KiB message per round trip of 10 ms, and one 250 ms timeout waited out at most.
  assert.ok(time.now - started < 64 * 10 + 300, `${time.now - started} ms`);
  a.endpoint.close();
  b.endpoint.close();
});

test("multi-fragment messages in flight stay within what the receiver reassembles at once", async () => {
  const time = new VirtualTime();
  // Every datagram overtaken at random: many messages would be incomplete at once.
  const net = new SimNet(time, { reorder: 1, seed: 7 });
  const a = node(net, 1);
  const b = node(net, 2);
  const first = track(a.endpoint.sendMessage(b.identity.publicKey, b.address, "hello"));
  await time.until(() => first.done);
  let datagrams = 0;
  net.filter = (d) => {
    if (d.from === a.address && d.data[0] === 3) datagrams++;
    return true;
  };
  // Messages 4, 9, 14, … have one fragment, the others two.
  const texts = Array.from({ length: 30 }, (_, i) => (i % 5 === 4 ? `short ${i}` : `two fragments ${i} ` + "y".repeat(1500)));
  const sends = texts.map((t) => track(a.endpoint.sendMessage(b.identity.publicKey, b.address, t)));
  await time.advance(1);
  // Messages start in order: 0 … 9, of which 8 have two fragments; message 10 (a 9th) waits,
  // and the messages behind it wait for it.
  assert.is(datagrams, 8 * 2 + 2);
  await time.until(() => sends.every((s) => s.done), 30_000);
  assert.ok(sends.every((s) => s.value), String(sends.find((s) => s.error)?.error));
  assert.equal(b.inbox.slice(1).map((m) => m.text).sort(), [...texts].sort());
  assert.is(b.endpoint.stats.dropped.refused, 0, "the receiver refused no fragment");
  assert.is(a.endpoint.stats.retransmissions, 0);
  a.endpoint.close();
  b.endpoint.close();
});

test.run();
