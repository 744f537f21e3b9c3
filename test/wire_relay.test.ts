// PROTOCOL §9 at the session layer, in virtual time: the relay's packets and rules, relayed
// sessions, the punch that turns them direct, keepalives, and what a relay must never do.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { relayTag } from "../src/crypto/record.ts";
import { TYPE_DATA, TYPE_INITIATION, TYPE_RESPONSE } from "../src/wire/constants.ts";
import { Relay } from "../src/wire/relay.ts";
import {
  encodeRegister, encodeRegistered, encodeRelay, encodeRelayBack, encodeRelayed, parseRelayPacket,
} from "../src/wire/relay_packets.ts";
import type { Address } from "../src/wire/session.ts";
import { type Datagram, node, SimNet, track, VirtualTime } from "./_wire_sim.ts";

const RELAY: Address = { host: "198.51.100.1", port: 6881 };
const secret = new Uint8Array(32).fill(42);
const tag = relayTag(secret);
const same = (a: Address, b: Address) => a.host === b.host && a.port === b.port;
const isSession = (d: Datagram) => d.data[0] === TYPE_INITIATION || d.data[0] === TYPE_RESPONSE || d.data[0] === TYPE_DATA;

/** A network with a relay, a listener L registered with it, and a sender S. */
function world(filter?: (d: Datagram, sentTo: Set<string>) => boolean) {
  const time = new VirtualTime();
  const net = new SimNet(time);
  const relay = new Relay({ send: net.sender(RELAY), clock: time.clock });
  net.attach(RELAY, (data, from) => {
    const packet = parseRelayPacket(data);
    if (packet) relay.receive(packet, from);
  });
  const L = node(net, 1);
  const S = node(net, 2);
  L.endpoint.useRelays([RELAY]);
  L.endpoint.behindNat = true;
  net.transmit(L.address, RELAY, encodeRegister(secret));
  // Who L has sent to: a port-restricted NAT in front of L lets only those in.
  const sentTo = new Set<string>([`${RELAY.host}:${RELAY.port}`]);
  net.filter = (d) => {
    if (same(d.from, L.address)) sentTo.add(`${d.to.host}:${d.to.port}`);
    return filter ? filter(d, sentTo) : true;
  };
  const route = { addresses: [L.address], relays: [{ address: RELAY, tag }] };
  return { time, net, relay, L, S, route };
}

const relayPackets = suite("wire: §9 packets");

relayPackets("every type round-trips; malformed ones are null", () => {
  const a4 = { host: "203.0.113.7", port: 6881 };
  const a6 = { host: "2001:db8::1", port: 443 };
  const inner = Uint8Array.of(3, 0, 0, 0, 1, 2, 3, 4);
  assert.equal(parseRelayPacket(encodeRegister(secret)), { type: 4, secret });
  assert.equal(parseRelayPacket(encodeRegistered(90, a6)), { type: 5, lifetime: 90, address: a6 });
  assert.equal(parseRelayPacket(encodeRelay(tag, inner)), { type: 6, tag, inner });
  assert.equal(parseRelayPacket(encodeRelayBack(a4, inner)), { type: 7, address: a4, inner });
  assert.equal(parseRelayPacket(encodeRelayed(a6, inner)), { type: 8, address: a6, inner });
  const bad = [
    encodeRegister(secret).subarray(0, 35), // short secret
    Uint8Array.of(4, 1, 0, 0, ...secret), // reserved byte
    encodeRegistered(90, a4).subarray(0, 12), // truncated address
    Uint8Array.from([...encodeRegistered(90, a4), 0]), // trailing byte
    encodeRelay(tag, Uint8Array.of(6, 0, 0, 0, ...tag)), // a §9 packet inside
    encodeRelay(tag, Uint8Array.of(1, 0, 0)), // inner shorter than a header
    Uint8Array.of(7, 0, 0, 0, 7, 1, 2, 3, 4, 5, 6, 7, ...inner), // address length 7
    Uint8Array.of(8, 0, 0, 0, 6, 1, 2, 3, 4, 0, 0, ...inner), // port 0
  ];
  for (const b of bad) assert.is(parseRelayPacket(b), null, Array.from(b.subarray(0, 8)).join(","));
});

relayPackets.run();

const relay = suite("wire: the relay");

relay("register answers registered with the address it saw; relay and relay-back follow the rules", async () => {
  const { time, net, relay: r, L } = world();
  const sent: Datagram[] = [];
  const spy = net.filter!;
  net.filter = (d) => (same(d.from, RELAY) && sent.push(d), spy(d));
  await time.advance(20);
  const registered = parseRelayPacket(sent[0]!.data);
  assert.equal(registered, { type: 5, lifetime: 90, address: L.address });
  const Y = { host: "192.0.2.9", port: 5555 };
  const inner = Uint8Array.of(3, 0, 0, 0, 9, 9, 9, 9);
  net.transmit(Y, RELAY, encodeRelayBack(Y, inner)); // nobody asked: dropped
  net.transmit(L.address, RELAY, encodeRelayBack(Y, inner)); // Y never wrote to L: dropped
  net.transmit(Y, RELAY, encodeRelay(new Uint8Array(16), inner)); // unknown tag: dropped
  await time.advance(20);
  assert.is(sent.length, 1, "nothing forwarded");
  assert.equal(r.stats.dropped, { unknownTag: 1, notAllowed: 2, full: 0, rateLimited: 0 });
  net.transmit(Y, RELAY, encodeRelay(tag, inner));
  await time.advance(20);
  assert.equal(parseRelayPacket(sent[1]!.data), { type: 8, address: Y, inner });
  assert.ok(same(sent[1]!.to, L.address));
  net.transmit(L.address, RELAY, encodeRelayBack(Y, inner));
  await time.advance(20);
  assert.equal(parseRelayPacket(sent[2]!.data), { type: 8, address: L.address, inner });
  assert.ok(same(sent[2]!.to, Y));
  await time.advance(61_000);
  net.transmit(L.address, RELAY, encodeRelayBack(Y, inner));
  await time.advance(20);
  assert.is(sent.length, 3, "60 s after Y's last relay, L may no longer answer it");
});

relay("never sends to an address that did not write to it first", async () => {
  const { time, net, L } = world();
  const wrote = new Set<string>([`${L.address.host}:${L.address.port}`]);
  let reflected = 0;
  net.filter = (d) => {
    if (same(d.to, RELAY)) wrote.add(`${d.from.host}:${d.from.port}`);
    if (same(d.from, RELAY) && !wrote.has(`${d.to.host}:${d.to.port}`)) reflected++;
    return true;
  };
  const inner = Uint8Array.of(1, 0, 0, 0, 1, 1, 1, 1);
  for (let i = 0; i < 200; i++) {
    const from = { host: `192.0.2.${i % 50}`, port: 1000 + i };
    const victim = { host: `203.0.113.${i % 50}`, port: 2000 + i };
    net.transmit(from, RELAY, [encodeRelayBack(victim, inner), encodeRelay(tag, inner), encodeRegister(secret)][i % 3]!);
  }
  await time.advance(100);
  assert.is(reflected, 0);
});

relay("a new register with the same secret moves the tag (NAT rebinding); tables and rates are bounded", async () => {
  const time = new VirtualTime();
  const out: { to: Address; data: Uint8Array }[] = [];
  const r = new Relay({
    send: (data, to) => out.push({ to, data }), clock: time.clock,
    limits: { registrationsPerSource: 2, maxRegistrations: 3, pairPacketBurst: 5, pairPacketRate: 1 },
  });
  const X1 = { host: "192.0.2.1", port: 1 };
  const X2 = { host: "192.0.2.1", port: 2 };
  r.receive({ type: 4, secret }, X1);
  r.receive({ type: 4, secret }, X2);
  assert.is(r.stats.registrations, 1);
  const inner = Uint8Array.of(3, 0, 0, 0, 1, 1, 1, 1);
  r.receive({ type: 6, tag, inner }, { host: "198.18.0.1", port: 9 });
  assert.ok(same(out.at(-1)!.to, X2), "forwarded to where the listener is now");
  for (let i = 1; i <= 4; i++) r.receive({ type: 4, secret: new Uint8Array(32).fill(i) }, { host: "192.0.2.1", port: 3 });
  assert.is(r.stats.registrations, 2, "at most 2 per source IP");
  for (let i = 1; i <= 4; i++) r.receive({ type: 4, secret: new Uint8Array(32).fill(i) }, { host: `192.0.2.${10 + i}`, port: 3 });
  assert.is(r.stats.registrations, 3, "at most 3 in all");
  for (let i = 0; i < 20; i++) r.receive({ type: 6, tag, inner }, { host: "198.18.0.1", port: 9 });
  assert.is(r.stats.forwarded, 5, "a pair's burst, then its rate");
  assert.is(r.stats.dropped.rateLimited, 16);
  time.now += 91_000;
  r.receive({ type: 6, tag, inner }, { host: "198.18.0.1", port: 9 });
  assert.is(r.stats.registrations, 0, "registrations expire after their lifetime");
});

relay.run();

const sessions = suite("wire: sessions through a relay");

sessions("both NATs map per destination: the session runs relayed, both ways", async () => {
  // No direct session packet gets through in either direction (symmetric NATs on both sides).
  const { time, relay: r, L, S, route } = world((d) => !isSession(d));
  await time.advance(20);
  const sent = track(S.endpoint.sendMessage(L.identity.publicKey, route, "through the relay"));
  await time.until(() => sent.done, 15_000);
  assert.is(sent.value?.path, "relayed");
  assert.is(L.inbox[0]?.text, "through the relay");
  const reply = track(L.endpoint.reply(S.identity.publicKey, "and back"));
  await time.until(() => reply.done, 15_000);
  assert.is(reply.value?.path, "relayed");
  assert.is(S.inbox[0]?.text, "and back");
  assert.ok(r.stats.forwarded >= 2 && r.stats.forwardedBack >= 2, JSON.stringify(r.stats));
  assert.is(L.endpoint.sessionPath(S.identity.publicKey), "relayed");
});

sessions("the listener's NAT filters, the sender's does not: the punch makes the session direct", async () => {
  const { time, L, S, route } = world((d, sentTo) => !same(d.to, L.address) || !isSession(d) || sentTo.has(`${d.from.host}:${d.from.port}`));
  await time.advance(20);
  const sent = track(S.endpoint.sendMessage(L.identity.publicKey, route, "punched"));
  await time.until(() => sent.done, 15_000);
  assert.is(sent.value?.path, "direct", "the listener's direct response opened its NAT");
  assert.is(L.inbox[0]?.text, "punched");
  assert.is(L.endpoint.sessionPath(S.identity.publicKey), "direct");
  assert.is(S.endpoint.sessionPath(L.identity.publicKey), "direct");
});

sessions("a relayed response is followed by data both ways until a direct packet answers", async () => {
  // The relay path is faster than the direct one here: the response comes relayed first.
  const w = world((d, sentTo) => !same(d.to, L.address) || !isSession(d) || sentTo.has(`${d.from.host}:${d.from.port}`));
  const { L, S, route } = w;
  await w.time.advance(20);
  w.net.filter = ((prev) => (d: Datagram) => {
    // L's direct response opens L's NAT but is lost on the way: only the relayed one arrives.
    const passes = prev(d);
    return passes && !(same(d.from, L.address) && d.data[0] === TYPE_RESPONSE);
  })(w.net.filter!);
  const sent = track(S.endpoint.sendMessage(L.identity.publicKey, route, "first"));
  await w.time.until(() => sent.done, 15_000);
  assert.ok(sent.value, String(sent.error));
  assert.is(L.endpoint.sessionPath(S.identity.publicKey), "direct", "S's direct copy of its data reached L through the punched hole");
  assert.is(sent.value!.path, "direct", "and L's ack came back directly");
});

sessions("keepalives hold an idle relayed session and the relay's permission across 60 s of silence", async () => {
  const { time, net, relay: r, L, S, route } = world((d) => !isSession(d));
  await time.advance(20);
  const first = track(S.endpoint.sendMessage(L.identity.publicKey, route, "one"));
  await time.until(() => first.done, 15_000);
  const before = net.log.length;
  await time.advance(60_000);
  const keepalives = net.log.slice(before).filter((d) => same(d.to, RELAY)).length;
  assert.ok(keepalives >= 4, `keepalives through the relay: ${keepalives}`);
  assert.is(L.inbox.length, 1, "keepalives are not delivered");
  const initiations = S.endpoint.stats.initiationsSent;
  const reply = track(L.endpoint.reply(S.identity.publicKey, "still here"));
  await time.until(() => reply.done, 15_000);
  assert.is(reply.value?.path, "relayed");
  assert.is(S.endpoint.stats.initiationsSent, initiations, "no new handshake");
  assert.is(r.stats.dropped.notAllowed, 0);
});

sessions("a relayed initiation from a relay we are not registered with gets no answer", async () => {
  const { time, net, L, S } = world();
  await time.advance(20);
  const stranger = { host: "203.0.113.66", port: 6881 };
  const packets: Datagram[] = [];
  net.attach(stranger, () => {});
  // Capture a genuine initiation from S, then replay it wrapped as if a stranger relayed it.
  net.filter = (d) => (packets.push(d), !isSession(d));
  track(S.endpoint.sendMessage(L.identity.publicKey, L.address, "x"));
  await time.advance(10);
  const init = packets.find((d) => d.data[0] === TYPE_INITIATION)!;
  const sentBefore = net.log.filter((d) => same(d.from, L.address)).length;
  L.endpoint.receive(encodeRelayed(S.address, init.data), stranger);
  await time.advance(50);
  assert.is(L.endpoint.stats.dropped.relay, 1);
  assert.is(net.log.filter((d) => same(d.from, L.address)).length, sentBefore, "no reply, to anyone");
  S.endpoint.close();
});

sessions.run();
