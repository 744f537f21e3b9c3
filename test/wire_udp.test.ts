// The session layer on real UDP sockets (loopback, real timers), plugged in the way src/peer.ts
// does it: one socket per node, `d` datagrams routed away, Buffers passed straight in.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import dgram from "node:dgram";
import { SessionEndpoint, type IncomingMessage } from "../src/wire/mod.ts";
import { testIdentity } from "./_wire_sim.ts";

const test = suite("wire: over UDP");

async function udpNode(n: number) {
  const socket = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  const identity = testIdentity(n);
  const received: IncomingMessage[] = [];
  const krpc: Uint8Array[] = [];
  const endpoint = new SessionEndpoint({
    identity,
    send: (datagram, to) => socket.send(datagram, to.port, to.host),
    onMessage: (m) => received.push(m),
  });
  socket.on("message", (msg, rinfo) => {
    if (msg[0] === 0x64) krpc.push(msg);
    else endpoint.receive(msg, { host: rinfo.address, port: rinfo.port });
  });
  const address = { host: "127.0.0.1", port: socket.address().port };
  const close = () => {
    endpoint.close();
    return new Promise<void>((resolve) => socket.close(() => resolve()));
  };
  return { identity, endpoint, received, krpc, address, socket, close };
}

test("handshake, message and reply between two sockets", async () => {
  const a = await udpNode(1);
  const b = await udpNode(2);
  const delivery = await a.endpoint.sendMessage(b.identity.publicKey, b.address, "over the wire");
  assert.ok(delivery.rttMs >= 0 && delivery.rttMs < 5000);
  assert.is(b.received[0]?.text, "over the wire");
  assert.equal(b.received[0]?.address, a.address);
  await b.endpoint.reply(a.identity.publicKey, "and back");
  assert.is(a.received[0]?.text, "and back");
  const big = "ü".repeat(30_000);
  await a.endpoint.sendMessage(b.identity.publicKey, b.address, big);
  assert.ok(b.received[1]?.text === big);
  // A KRPC datagram on the same socket is not the session layer's business.
  a.socket.send(new TextEncoder().encode("d1:y1:qe"), b.address.port, b.address.host);
  await new Promise((r) => setTimeout(r, 50));
  assert.is(b.krpc.length, 1);
  assert.is(b.endpoint.stats.dropped.malformed, 0);
  await a.close();
  await b.close();
});

test.run();
