// Our own address from the BEP 42 `ip` votes (address.ts): groups per /24, a minimum of voters,
// a clear majority; a public bound address wins; a node re-ids itself for BEP 42 once it knows.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { AddressVotes, isPublicBound, MIN_VOTERS } from "../src/dht/address.ts";
import { validNodeId } from "../src/dht/bep42.ts";
import { type BDict, decode, encode } from "../src/bencode.ts";
import { encodeAddress } from "../src/dht/krpc.ts";
import { DhtNode } from "../src/dht/node.ts";
import { SimNetwork } from "../src/dht/sim.ts";
import { Bench } from "./_dht.ts";

const test = suite("dht address votes");
const me = { host: "5.6.7.8", port: 4000 };
const liar = { host: "6.6.6.6", port: 6666 };

test("votes count once per voter /24: many sockets on one /24 are one voter", () => {
  const v = new AddressVotes();
  for (let i = 1; i <= 200; i++) v.vote({ host: `9.9.9.${i}`, port: i }, liar);
  assert.is(v.winner(), null, "one group is below the minimum");
  assert.equal(v.tally(), [{ address: liar, voters: 1 }]);
});

test("a winner needs MIN_VOTERS groups, more than half of them and twice the runner-up", () => {
  const v = new AddressVotes();
  for (let i = 1; i < MIN_VOTERS; i++) v.vote({ host: `1.1.${i}.1`, port: 1 }, me);
  assert.is(v.winner(), null);
  v.vote({ host: `1.1.${MIN_VOTERS}.1`, port: 1 }, me);
  assert.equal(v.winner(), me);
  for (let i = 1; i <= 2; i++) v.vote({ host: `2.2.${i}.1`, port: 1 }, liar);
  assert.is(v.winner(), null, "3 against 2: no clear majority");
  for (let i = 10; i <= 12; i++) v.vote({ host: `1.1.${i}.1`, port: 1 }, me);
  assert.equal(v.winner(), me, "6 against 2");
  v.vote({ host: "1.1.10.1", port: 1 }, liar);
  assert.equal(v.tally().find((t) => t.address.host === liar.host)?.voters, 3, "a group's latest vote replaces its earlier one");
});

test("loopback voters count per socket, LAN voters per host, unless restrictLocal", () => {
  const v = new AddressVotes();
  for (let port = 1; port <= 3; port++) v.vote({ host: "127.0.0.1", port }, me);
  assert.equal(v.winner(), me);
  const strict = new AddressVotes(true);
  for (let port = 1; port <= 3; port++) strict.vote({ host: "127.0.0.1", port }, me);
  assert.is(strict.winner(), null);
});

test("a public bound address wins over any vote; a wildcard or local one does not", async () => {
  assert.ok(isPublicBound(me));
  for (const host of ["0.0.0.0", "127.0.0.1", "192.168.1.2", "10.0.0.1", "::"]) assert.not.ok(isPublicBound({ host, port: 1 }), host);
  const net = new SimNetwork({ latency: [1, 1] });
  const node = new DhtNode({ transport: net.transport("5.6.7.8"), clock: net.clock, bootstrap: false, maintenance: false });
  assert.equal(node.externalAddress(), { host: "5.6.7.8", port: 6881 });
  assert.ok(validNodeId(node.id, "5.6.7.8"), "a BEP 42 id for the public address it is bound to");
  node.destroy();
});

test("once the votes agree on a public address, the node takes a BEP 42 id for it and keeps its contacts", async () => {
  const b = new Bench();
  const before = b.node.id;
  const peers = [b.peer(), b.peer(), b.peer()];
  for (const p of peers) {
    p.transport.onMessage((buf, from) => {
      const m = decode(buf) as BDict;
      p.transport.send(encode({ ip: encodeAddress(me)!, t: m["t"], y: "r", r: { id: p.id } }), from);
    });
  }
  for (const [i, p] of peers.entries()) {
    await b.net.clock.until(b.node.ping(p.transport.address()));
    assert.is(validNodeId(b.node.id, me.host), i === peers.length - 1, `after ${i + 1} votes`);
  }
  assert.not.equal(b.node.id, before);
  assert.is(b.node.table.size, 3, "the contacts moved to the new table");
  assert.equal(b.node.toJSON().id, Buffer.from(b.node.id).toString("hex"));
  const fixed = new Bench({ id: before });
  assert.equal(fixed.node.id, before, "an id given by the caller stays");
});

test.run();
