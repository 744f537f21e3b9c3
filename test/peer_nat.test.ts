// PROTOCOL §9 end to end in one process, on loopback UDP: chat nodes relay, a listener behind a
// (filtering) NAT finds relays among the DHT's chat nodes, registers, publishes them in its record,
// and senders reach it through them; the punch makes a session direct where the NAT allows it.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { generateIdentity } from "../src/crypto/identity.ts";
import { createTestnet, type Testnet } from "../src/dht/testnet.ts";
import type { Address, Transport } from "../src/dht/transport.ts";
import { UdpTransport } from "../src/dht/udp.ts";
import { Peer, type NatEvent } from "../src/peer.ts";
import { RelayingTransport } from "../src/relaying.ts";
import { encodeRegister } from "../src/wire/relay_packets.ts";

const key = (a: Address) => `${a.host}:${a.port}`;
const isSession = (buf: Uint8Array) => buf[0] === 1 || buf[0] === 2 || buf[0] === 3;

/**
 * A NAT's filter in front of a socket: session packets (types 1–3) that arrive directly get in
 * only from addresses this socket sent to (a port-restricted cone), or never (`symmetric`: on
 * loopback the mapping cannot change per destination, so no direct packet may pass at all).
 */
function natFiltered(inner: Transport, kind: "cone" | "symmetric"): Transport {
  const sentTo = new Set<string>();
  return {
    send: (buf, to) => {
      sentTo.add(key(to));
      inner.send(buf, to);
    },
    onMessage: (cb) => inner.onMessage((buf, from) => {
      if (isSession(buf) && (kind === "symmetric" || !sentTo.has(key(from)))) return;
      cb(buf, from);
    }),
    address: () => inner.address(),
    close: () => inner.close(),
  };
}

const nat = suite("peer: behind NAT, through relays (loopback)");
let net: Testnet;
const peers: Peer[] = [];

async function open(opts: { nat?: "cone" | "symmetric"; behindNat?: boolean; readOnly?: boolean } = {}): Promise<Peer> {
  const udp = await UdpTransport.bind({ host: "127.0.0.1" });
  const peer = await Peer.open({
    identity: generateIdentity(),
    bootstrap: net.bootstrap,
    transport: opts.nat ? natFiltered(udp, opts.nat) : udp,
    ...(opts.behindNat === undefined ? {} : { behindNat: opts.behindNat }),
    ...(opts.readOnly ? { readOnly: true } : {}),
  });
  peers.push(peer);
  await peer.bootstrap();
  return peer;
}

async function listener(kind: "cone" | "symmetric") {
  const peer = await open({ nat: kind, behindNat: true });
  const events: (NatEvent | { relay: string; state: string })[] = [];
  const announced = await peer.keepAnnounced({
    onNat: (e) => events.push(e),
    onRelay: (relay, state) => events.push({ relay: key(relay), state }),
  });
  return { peer, events, announced, inbox: peer.messages() };
}

nat.before(async () => {
  net = await createTestnet(12, { wrap: (socket) => new RelayingTransport(socket) });
});
nat.after(() => {
  for (const p of peers) p.close();
  net.destroy();
});

nat("a listener behind NAT registers with 2 chat nodes and publishes them; a lookup returns them", async () => {
  const { peer, events, announced } = await listener("symmetric");
  assert.equal(events[0], { behindNat: true, publicAddress: { host: "127.0.0.1", port: peer.address().port } });
  const registered = events.filter((e) => "state" in e && e.state === "registered");
  assert.is(registered.length, 2, JSON.stringify(events));
  assert.is(announced.relays.length, 2, "the record carries both relays");
  const sender = await open({ readOnly: true });
  const found = await sender.lookup(peer.publicKey);
  assert.ok(found.found);
  assert.equal(found.found && found.relays.map((r) => key(r.address)).sort(), announced.relays.map(key).sort());
  // Ask it to relay, as a listener would: it must not answer (nobody could reach a relay behind NAT).
  const asker = await UdpTransport.bind({ host: "127.0.0.1" });
  let answered = 0;
  asker.onMessage(() => answered++);
  asker.send(encodeRegister(new Uint8Array(32).fill(1)), peer.address());
  await new Promise((r) => setTimeout(r, 300));
  asker.close();
  assert.is(answered, 0, "a listener behind NAT relays for nobody");
  assert.is(peer.relay.stats.registers, 0);
});

nat("both behind NATs that map per destination: delivered relayed, and the reply comes back", async () => {
  const { peer, inbox } = await listener("symmetric");
  const sender = await open({ nat: "symmetric", readOnly: true });
  const replies = sender.messages();
  // A message is acked when the application takes it: read while sending.
  const next = inbox.next();
  const sent = await sender.send(peer.publicKey, "hello through a relay");
  assert.is(sent.path, "relayed");
  const got = await next;
  assert.is(got.value?.text, "hello through a relay");
  assert.is(got.value?.path, "relayed");
  const reply = replies.next();
  const back = await peer.reply(got.value!.from, "hi back");
  assert.is(back.path, "relayed");
  assert.is((await reply).value?.text, "hi back");
  const forwarded = net.nodes.reduce((n, node) => n + ((node as unknown as { transport: RelayingTransport }).transport.relay.stats.forwarded), 0);
  assert.ok(forwarded >= 2, `relays forwarded ${forwarded}`);
});

nat("the listener's NAT filters but the sender's does not: the punch makes it direct", async () => {
  const { peer, inbox } = await listener("cone");
  const sender = await open({ readOnly: true });
  const next = inbox.next();
  const sent = await sender.send(peer.publicKey, "punch");
  assert.is(sent.path, "direct");
  assert.is((await next).value?.text, "punch");
});

nat("a relay that dies: a new sender gets through the other at once, and the dead one is replaced", async () => {
  const { peer, events, inbox } = await listener("symmetric");
  const used = events.flatMap((e) => ("state" in e ? [e.relay] : []));
  assert.is(used.length, 2, "both relays registered before the first record");
  const victim = net.nodes.find((n) => used.includes(key(n.address())))!;
  const victimAddress = key(victim.address());
  victim.destroy();
  const sender = await open({ nat: "symmetric", readOnly: true });
  const next = inbox.next();
  const sent = await sender.send(peer.publicKey, "after the loss");
  assert.is(sent.path, "relayed");
  assert.is((await next).value?.text, "after the loss");
  // Registers go out every 20 s; 3 missed answers, 2 s apart, make a relay lost.
  const replaced = () => events.filter((e) => "state" in e && e.state === "registered").length >= 3;
  const deadline = Date.now() + 30_000;
  while (!replaced() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  assert.ok(events.some((e) => "state" in e && e.state === "lost" && e.relay === victimAddress), JSON.stringify(events));
  assert.ok(replaced(), JSON.stringify(events));
});

nat.run();
