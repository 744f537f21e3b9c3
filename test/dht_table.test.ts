import { suite } from "uvu";
import * as assert from "uvu/assert";
import { nodeIdFor } from "../src/dht/bep42.ts";
import { seededRandom } from "../src/dht/sim.ts";
import { compareDistance, type Contact, RoutingTable } from "../src/dht/table.ts";
import { id } from "./_dht.ts";

const test = suite("dht routing table");

function randomId(rnd: () => number): Uint8Array {
  return Uint8Array.from({ length: 20 }, () => Math.floor(rnd() * 256));
}
const node = (nid: Uint8Array, n = 1) => ({ id: nid, host: `10.0.${n >> 8 & 255}.${n & 255}`, port: 6881 });

test("closest() is exact: it matches a brute-force sort on 160-bit ids", () => {
  const rnd = seededRandom(5);
  const table = new RoutingTable(randomId(rnd));
  for (let i = 0; i < 2000; i++) table.heard(node(randomId(rnd), i), 0);
  const all = table.all();
  assert.ok(all.length > 60 && all.length < 200, `a k=8 table holds ${all.length} of 2000`);
  for (let i = 0; i < 200; i++) {
    const target = randomId(rnd);
    const brute = [...all].sort((a, b) => compareDistance(a.id, b.id, target)).slice(0, 8);
    assert.equal(table.closest(target).map((c) => c.id), brute.map((c) => c.id));
  }
});

test("closest() orders ids that differ only in their last bits (where floats lose precision)", () => {
  const self = id(0xff);
  const table = new RoutingTable(self);
  const base = id(0);
  const ids = [3, 1, 2, 0].map((last) => { const x = base.slice(); x[19] = last; return x; });
  ids.forEach((x, i) => table.heard(node(x, i), 0));
  const target = base.slice();
  assert.equal(table.closest(target, 4).map((c) => c.id[19]), [0, 1, 2, 3]);
});

test("a known id re-added from another address does not replace the contact", () => {
  const table = new RoutingTable(id(0));
  table.heard({ id: id(1), host: "10.0.0.1", port: 1 }, 10);
  table.heard({ id: id(1), host: "6.6.6.6", port: 666 }, 20);
  assert.equal(table.get(id(1)), { id: id(1), host: "10.0.0.1", port: 1, seen: 10, fails: 0 });
  table.heard({ id: id(1), host: "10.0.0.1", port: 1 }, 30);
  assert.is(table.get(id(1))!.seen, 30, "the same address refreshes it");
});

test("a contact is dropped after two failures in a row; an answer in between resets it", () => {
  const table = new RoutingTable(id(0));
  table.heard(node(id(1)), 0);
  table.failed(id(1));
  assert.is(table.get(id(1))!.fails, 1);
  table.heard(node(id(1)), 1);
  assert.is(table.get(id(1))!.fails, 0);
  table.failed(id(1));
  table.failed(id(1));
  assert.is(table.get(id(1)), null);
  table.heard(node(id(0)), 0);
  assert.is(table.size, 0, "our own id never enters");
});

test("a full far bucket asks to ping its most questionable contact, and only then", () => {
  const self = id(0);
  const table = new RoutingTable(self);
  const asked: [Contact, Contact][] = [];
  table.onStale = (stale, candidate) => asked.push([stale, candidate]);
  const far = (n: number) => { const x = id(0x80); x[19] = n; return x; };
  for (let n = 0; n < 8; n++) table.heard(node(far(n), n), 1000 + n);
  // Fill the near half so that the root splits and the far bucket stops splitting.
  for (let n = 0; n < 8; n++) { const x = id(0x40); x[19] = n; table.heard(node(x, 100 + n), 1000); }
  table.heard(node(far(100), 200), 2000);
  assert.is(asked.length, 0, "every far contact is good: the newcomer is dropped");
  assert.is(table.get(far(100)), null);
  table.failed(far(3));
  table.heard(node(far(101), 201), 2001);
  assert.is(asked.length, 1);
  assert.equal(asked[0]![0].id, far(3), "the contact that failed is pinged first");
  assert.equal(asked[0]![1].id, far(101));
  table.heard(node(far(102), 202), 20 * 60_000);
  assert.equal(asked[1]![0].id, far(3), "still the worst");
  assert.ok(table.hasRoom(id(0x01)), "the near bucket can split");
  assert.not.ok(table.hasRoom(far(200)), "the far bucket is full");
});

test("refreshTargets: random ids in the ranges of buckets not full or stale, stalest first", () => {
  const self = id(0);
  const table = new RoutingTable(self);
  assert.is(table.refreshTargets(0, 1000).length, 1, "the empty root bucket");
  for (let n = 0; n < 8; n++) { const x = id(0x80); x[19] = n; table.heard(node(x, n), 4800); }
  for (let n = 0; n < 8; n++) { const x = id(0x40); x[19] = n; table.heard(node(x, 10 + n), 5000); }
  // Buckets now: 1… and 0…, both full; 0… holds our id and may still split.
  const fresh = table.refreshTargets(5500, 1000);
  assert.is(fresh.length, 1, "both fresh: only a look into the half of 0… that is not ours");
  assert.is(fresh[0]![0]! & 0xc0, 0x40, "01…");
  const stale = table.refreshTargets(5900, 1000);
  assert.is(stale.length, 2);
  assert.is(stale[0]![0]! & 0x80, 0x80, "the far bucket went stale first");
  const x = id(0x20);
  table.heard(node(x, 99), 5900);
  // 0… split: 01… (8, full, fresh) and 00… (1, not full).
  const targets = table.refreshTargets(5900, 1000);
  assert.is(targets.length, 2);
  assert.is(targets[0]![0]! & 0x80, 0x80, "stalest first");
  assert.is(targets[1]![0]! & 0xc0, 0, "then the bucket that is not full: 00…");
});

test("one contact per IP; per IP and port on loopback unless restrictLocal", () => {
  const table = new RoutingTable(id(0));
  const host = "5.6.7.8";
  table.heard({ id: nodeIdFor(host)!, host, port: 1 }, 0);
  table.heard({ id: nodeIdFor(host)!, host, port: 2 }, 0);
  assert.is(table.size, 1, "a second id from the same public IP is refused");
  for (let port = 1; port <= 6; port++) table.heard({ id: randomId(Math.random), host: "127.0.0.1", port }, 0);
  assert.is(table.size, 7, "loopback: one per port");
  table.heard({ id: randomId(Math.random), host: "127.0.0.1", port: 6 }, 0);
  assert.is(table.size, 7, "but not two ids on one port");
  const strict = new RoutingTable(id(0), 8, { restrictLocal: true });
  for (let port = 1; port <= 20; port++) strict.heard({ id: nodeIdFor("127.0.0.2")!, host: "127.0.0.2", port }, 0);
  assert.is(strict.size, 1, "restrictLocal: loopback counts per IP");
  assert.is(strict.refused, 19);
});

test("at most 2 contacts of one /24 per bucket (public addresses)", () => {
  const table = new RoutingTable(id(0));
  for (let n = 1; n <= 10; n++) { const host = `5.6.7.${n}`; table.heard({ id: nodeIdFor(host)!, host, port: 6881 }, 0); }
  assert.is(table.size, 2, "one bucket (the root) takes 2 of 5.6.7.0/24");
  // 2 + 6 contacts: the root bucket holds them all without splitting, whatever the random ids.
  for (let n = 1; n <= 6; n++) table.heard(node(randomId(Math.random), n), 0);
  assert.is(table.all().filter((c) => c.host.startsWith("10.")).length, 6, "local networks are exempt");
});

test("BEP 42: an id that does not match its public IP is refused; local networks are exempt unless restrictLocal", () => {
  const table = new RoutingTable(id(0));
  table.heard({ id: id(0x55), host: "5.6.7.8", port: 6881 }, 0);
  assert.is(table.size, 0);
  table.heard({ id: nodeIdFor("5.6.7.8")!, host: "5.6.7.8", port: 6881 }, 0);
  table.heard({ id: id(0x56), host: "192.168.1.9", port: 6881 }, 0);
  table.heard({ id: id(0x57), host: "127.0.0.1", port: 6881 }, 0);
  assert.is(table.size, 3);
  const strict = new RoutingTable(id(0), 8, { restrictLocal: true });
  strict.heard({ id: id(0x57), host: "127.0.0.1", port: 6881 }, 0);
  strict.heard({ id: nodeIdFor("127.0.0.3")!, host: "127.0.0.3", port: 6881 }, 0);
  assert.equal(strict.all().map((c) => c.host), ["127.0.0.3"]);
  const lax = new RoutingTable(id(0), 8, { enforceNodeId: false, restrictIps: false });
  lax.heard({ id: id(0x55), host: "5.6.7.8", port: 6881 }, 0);
  lax.heard({ id: id(0x56), host: "5.6.7.8", port: 6881 }, 0);
  assert.is(lax.size, 2, "both rules can be turned off");
});

test.run();
