// The send window (outbox.ts; docs/PROTOCOL.md §8): messages and fragments in flight per peer,
// the fragment window's growth while acks come back and its halving on a loss, over an in-memory
// link in virtual time.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { MAX_FRAGMENTS, SEND_WINDOW_FRAGMENTS, SEND_WINDOW_FRAGMENTS_MAX } from "../src/wire/constants.ts";
import { Outbox, type Outgoing } from "../src/wire/outbox.ts";
import { hex, node, SimNet, track, VirtualTime } from "./_wire_sim.ts";

const test = suite("wire: send window");

const BIG = "x".repeat(MAX_FRAGMENTS * 1024); // 64 fragments

const outgoing = (n: number, fragments: number): Outgoing => ({
  id: new Uint8Array(16).fill(n), key: String(n), frames: Array.from({ length: fragments }, () => new Uint8Array(1)),
  calledAt: 0, resolve: () => {}, reject: () => {}, sentSeq: 0, sentAt: 0,
});

test("the fragment window: one 64 KiB message at first, up by each clean ack to four, halved once per loss episode down to one", () => {
  const box = new Outbox();
  assert.is(box.window, SEND_WINDOW_FRAGMENTS);
  assert.is(SEND_WINDOW_FRAGMENTS, MAX_FRAGMENTS);
  const first = outgoing(1, MAX_FRAGMENTS);
  box.start(first, 0);
  assert.not.ok(box.hasRoom(outgoing(2, 1)), "a full window takes not even one fragment more");
  box.acked(first);
  box.finish(first);
  assert.is(box.window, 2 * MAX_FRAGMENTS);
  const [a, b] = [outgoing(3, MAX_FRAGMENTS), outgoing(4, MAX_FRAGMENTS)];
  box.start(a, 0);
  assert.ok(box.hasRoom(b));
  box.start(b, 0);
  assert.not.ok(box.hasRoom(outgoing(5, 1)));
  for (const o of [a, b]) {
    box.acked(o);
    box.finish(o);
  }
  assert.is(box.window, SEND_WINDOW_FRAGMENTS_MAX, "grown to the most");
  box.acked(outgoing(6, MAX_FRAGMENTS));
  assert.is(box.window, SEND_WINDOW_FRAGMENTS_MAX, "and no further");
  box.lost(b.sentSeq);
  assert.is(box.window, SEND_WINDOW_FRAGMENTS_MAX / 2);
  box.lost(a.sentSeq);
  assert.is(box.window, SEND_WINDOW_FRAGMENTS_MAX / 2, "a and b went out before the cut: one loss episode, one cut");
  const again = { ...outgoing(7, MAX_FRAGMENTS), retransmitted: true };
  box.acked(again);
  assert.is(box.window, SEND_WINDOW_FRAGMENTS_MAX / 2, "an ack of a retransmitted message says nothing");
  const [c, d] = [outgoing(8, MAX_FRAGMENTS), outgoing(9, MAX_FRAGMENTS)];
  box.start(c, 0);
  box.lost(c.sentSeq);
  box.start(d, 0);
  box.lost(d.sentSeq);
  assert.is(box.window, SEND_WINDOW_FRAGMENTS, "sent after each cut: new episodes; never below one message");
});

/** Fragments from `a` not yet covered by an ack from `b`: data packets each way, seen on the link. */
function fragmentsInFlight(net: SimNet, a: string, b: string, fragmentsPerMessage: number) {
  let sent = 0;
  let acked = 0;
  let most = 0;
  net.filter = (d) => {
    if (d.data[0] !== 3) return true; // handshake packets
    if (d.from.host === a) sent++;
    if (d.from.host === b) acked += fragmentsPerMessage;
    most = Math.max(most, sent - acked);
    return true;
  };
  return () => most;
}

test("8 messages of 64 KiB: the window grows past one message and stays within four; each delivered once", async () => {
  const time = new VirtualTime();
  const net = new SimNet(time);
  const a = node(net, 1);
  const b = node(net, 2);
  const most = fragmentsInFlight(net, a.address.host, b.address.host, MAX_FRAGMENTS);
  const sends = Array.from({ length: 8 }, () => track(a.endpoint.sendMessage(b.identity.publicKey, b.address, BIG)));
  await time.until(() => sends.every((s) => s.done));
  assert.ok(sends.every((s) => s.value), String(sends.find((s) => s.error)?.error));
  assert.is(b.inbox.length, 8);
  assert.is(new Set(b.inbox.map((m) => hex(m.id))).size, 8);
  assert.ok(most() > MAX_FRAGMENTS, `at most ${most()} fragments were in flight`);
  assert.ok(most() <= SEND_WINDOW_FRAGMENTS_MAX, `${most()} fragments were in flight`);
  assert.is(a.endpoint.stats.retransmissions, 0);
  a.endpoint.close();
  b.endpoint.close();
});

test("a receiver that holds 100 datagrams: bursts past it are lost, the window halves, all 16 delivered once", async () => {
  const time = new VirtualTime();
  const net = new SimNet(time, { receiveBuffer: 100 });
  const a = node(net, 1);
  const b = node(net, 2);
  const sends = Array.from({ length: 16 }, () => track(a.endpoint.sendMessage(b.identity.publicKey, b.address, BIG)));
  await time.until(() => sends.every((s) => s.done));
  assert.ok(sends.every((s) => s.value), String(sends.find((s) => s.error)?.error));
  assert.is(b.inbox.length, 16);
  assert.is(new Set(b.inbox.map((m) => hex(m.id))).size, 16, "exactly once");
  assert.ok(net.overflows > 0, "the window grew into the receiver's limit");
  assert.ok(a.endpoint.stats.retransmissions > 0);
  // A loss costs a retransmission of what was in flight, not a collapse: a few messages, not 16.
  assert.ok(a.endpoint.stats.retransmissions <= 4, `${a.endpoint.stats.retransmissions} retransmissions`);
  a.endpoint.close();
  b.endpoint.close();
});

test("a loss with four 64 KiB messages in flight: the window halves, and the resends go half a window at a time, as acks come back", async () => {
  const time = new VirtualTime();
  const net = new SimNet(time);
  const a = node(net, 1);
  const b = node(net, 2);
  const warm = Array.from({ length: 8 }, () => track(a.endpoint.sendMessage(b.identity.publicKey, b.address, BIG)));
  await time.until(() => warm.every((s) => s.done)); // the window is now four messages
  let blackout = true;
  const bursts = new Map<number, number>(); // virtual ms → a's data packets sent then
  net.filter = (d) => {
    if (d.data[0] !== 3 || d.from.host !== a.address.host) return true;
    bursts.set(d.at, (bursts.get(d.at) ?? 0) + 1);
    return !blackout;
  };
  const sends = Array.from({ length: 4 }, () => track(a.endpoint.sendMessage(b.identity.publicKey, b.address, BIG)));
  await time.advance(100);
  assert.equal([...bursts.values()], [SEND_WINDOW_FRAGMENTS_MAX], "all four went at once, and were lost");
  blackout = false;
  bursts.clear();
  await time.until(() => sends.every((s) => s.done));
  assert.ok(sends.every((s) => s.value));
  assert.is(b.inbox.length, 12);
  assert.is(a.endpoint.stats.retransmissions, 4);
  const [times, sizes] = [[...bursts.keys()], [...bursts.values()]];
  assert.equal(sizes, [SEND_WINDOW_FRAGMENTS_MAX / 2, SEND_WINDOW_FRAGMENTS_MAX / 2], "two resends of two messages");
  assert.is(times[1]! - times[0]!, 10, "the second as the first one's acks came back, a round trip later");
  a.endpoint.close();
  b.endpoint.close();
});

test("a lost fragment, then a later message acked: the resend goes two round trips after the send, not at 250 ms", async () => {
  const time = new VirtualTime();
  const net = new SimNet(time); // 5 ms each way
  const a = node(net, 1);
  const b = node(net, 2);
  const first = track(a.endpoint.sendMessage(b.identity.publicKey, b.address, "hello")); // the handshake
  await time.until(() => first.done);
  let dropped = 0;
  const resentAt: number[] = [];
  let seen = 0;
  net.filter = (d) => {
    if (d.data[0] !== 3 || d.from.host !== a.address.host) return true;
    if (++seen > 3) resentAt.push(d.at); // three sends: "lost", "later", "latest"; then resends
    return seen !== 1 || dropped++ > 0; // the first one is lost
  };
  const started = time.now;
  const lost = track(a.endpoint.sendMessage(b.identity.publicKey, b.address, "lost"));
  const later = track(a.endpoint.sendMessage(b.identity.publicKey, b.address, "later"));
  const latest = track(a.endpoint.sendMessage(b.identity.publicKey, b.address, "latest"));
  await time.until(() => lost.done && later.done && latest.done);
  assert.ok(lost.value && later.value && latest.value);
  assert.equal(b.inbox.map((m) => m.text), ["hello", "later", "latest", "lost"]);
  assert.equal(resentAt.map((t) => t - started), [20], "one resend, at 2 × the 10 ms round trip");
  assert.is(a.endpoint.stats.retransmissions, 1);
  assert.is(lost.value!.rttMs, 30); // resent at 20 ms, acked a round trip later
  a.endpoint.close();
  b.endpoint.close();
});

test("the send window: 100 messages at once, at most 32 in flight, all delivered in time", async () => {
  const time = new VirtualTime();
  const net = new SimNet(time);
  const a = node(net, 1);
  const b = node(net, 2);
  let maxInFlight = 0;
  const ids = new Set<string>();
  net.filter = (d) => {
    if (d.from === a.address && d.data[0] === 3) ids.add(hex(d.data.subarray(8, 16)));
    return true;
  };
  const sends = Array.from({ length: 100 }, (_, i) => track(a.endpoint.sendMessage(b.identity.publicKey, b.address, `n${i}`)));
  await time.advance(15);
  maxInFlight = ids.size; // before any ack: the counters used are the messages in flight
  await time.until(() => sends.every((s) => s.done));
  assert.is(maxInFlight, 32);
  assert.ok(sends.every((s) => s.value));
  assert.is(b.inbox.length, 100);
  a.endpoint.close();
  b.endpoint.close();
});

test.run();
