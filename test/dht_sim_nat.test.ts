// The simulator's NATs (src/dht/sim_nat.ts): mappings, filtering, expiry, the LAN, and a DHT with
// hundreds of its nodes behind them.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { DhtNode } from "../src/dht/node.ts";
import { SimNetwork, SIM_PORT, type SimTransport } from "../src/dht/sim.ts";
import { CONE, SimNat, SYMMETRIC } from "../src/dht/sim_nat.ts";
import { createSimnet } from "../src/dht/testnet.ts";
import type { Address } from "../src/dht/transport.ts";
import { bytes, signed } from "./_dht.ts";

const test = suite("dht simulator: NATs");
const LATENCY = 10;

function net(): SimNetwork {
  return new SimNetwork({ seed: 3, latency: [LATENCY, LATENCY] });
}

/** Every datagram `t` receives, as "text from host:port". */
function inbox(t: SimTransport): string[] {
  const got: string[] = [];
  t.onMessage((buf, from) => got.push(`${new TextDecoder().decode(buf)} from ${from.host}:${from.port}`));
  return got;
}
const send = (t: SimTransport, to: Address, text: string) => t.send(bytes(text), to);
const settle = (n: SimNetwork, ms = 5 * LATENCY) => n.clock.run(n.clock.now() + ms);
/** The public address the far end saw in "text from host:port". */
const source = (line: string | undefined) => {
  const [host, port] = (line ?? "").split(" from ")[1]!.split(":");
  return { host: host!, port: Number(port) };
};

test("endpoint-independent mapping: one public address for every destination", async () => {
  const n = net();
  const nat = new SimNat(n, CONE);
  const h = nat.host(), other = nat.host();
  const a = n.transport(), b = n.transport();
  const [atA, atB] = [inbox(a), inbox(b)];
  send(h, a.address(), "1");
  send(h, b.address(), "2");
  send(other, a.address(), "3");
  await settle(n);
  assert.is(source(atA[0]).host, nat.publicHost, "translated to the NAT's address");
  assert.equal(source(atA[0]), source(atB[0]), "the same mapping toward both");
  assert.is.not(source(atA[1]).port, source(atA[0]).port, "another host behind it: another port");
  assert.is(nat.stats.mappings, 2);
});

test("symmetric mapping: a new port per destination, the same one again for the same one", async () => {
  const n = net();
  const nat = new SimNat(n, SYMMETRIC);
  const h = nat.host();
  const a = n.transport(), b = n.transport();
  const [atA, atB] = [inbox(a), inbox(b)];
  send(h, a.address(), "1");
  send(h, b.address(), "2");
  send(h, a.address(), "3");
  await settle(n);
  assert.is.not(source(atA[0]).port, source(atB[0]).port);
  assert.equal(source(atA[1]), source(atA[0]));
  assert.is(nat.stats.mappings, 2);
});

test("filtering: unsolicited datagrams are dropped; a reply to what went out gets in, from the real sender", async () => {
  const n = net();
  const nat = new SimNat(n, CONE);
  const h = nat.host();
  const a = n.transport(), stranger = n.transport();
  const [atH, atA] = [inbox(h), inbox(a)];
  send(stranger, { host: nat.publicHost, port: 4000 }, "no mapping");
  send(h, a.address(), "hello");
  await settle(n);
  const mapped = source(atA[0]);
  send(stranger, mapped, "not asked for");
  send(a, mapped, "reply");
  await settle(n);
  assert.equal(atH, [`reply from ${a.host}:${SIM_PORT}`]);
  assert.is(nat.stats.filtered, 2);
});

test("address-restricted filtering lets in any port of a contacted address; port-restricted only that port", async () => {
  for (const filtering of ["address", "address-and-port"] as const) {
    const n = net();
    const home = new SimNat(n, { mapping: "endpoint-independent", filtering });
    const far = new SimNat(n, SYMMETRIC);
    const h = home.host(), r = far.host();
    const p = n.transport();
    const [atH, atP] = [inbox(h), inbox(p)];
    // h learns where r's NAT maps r toward p (as a rendezvous would tell it) and writes there.
    send(r, p.address(), "to p");
    send(h, p.address(), "h's mapping");
    await settle(n);
    send(h, source(atP[0]), "punch");
    // r writes to h's mapping: its symmetric NAT gives that destination a port of its own.
    send(r, source(atP[1]), "from another port");
    await settle(n);
    assert.is(atH.length, filtering === "address" ? 1 : 0, filtering);
  }
});

test("a mapping expires after its timeout of silence; traffic either way keeps it", async () => {
  const n = net();
  const nat = new SimNat(n, { ...CONE, timeoutMs: 10_000 });
  const h = nat.host();
  const a = n.transport();
  const [atH, atA] = [inbox(h), inbox(a)];
  send(h, a.address(), "open");
  await settle(n);
  const mapped = source(atA[0]);
  await settle(n, 8_000);
  send(a, mapped, "after 8 s");
  await settle(n, 8_000);
  send(a, mapped, "8 s after the last one");
  await settle(n, 11_000);
  send(a, mapped, "11 s after the last one");
  await settle(n);
  assert.equal(atH.map((l) => l.split(" from ")[0]), ["after 8 s", "8 s after the last one"]);
  assert.is(nat.stats.expired, 1);
  send(h, a.address(), "again");
  await settle(n);
  assert.is.not(source(atA[1]).port, mapped.port, "a new mapping, on another port");
  assert.is(nat.stats.mappings, 2);
});

test("no hairpin: the LAN address works between neighbours, the NAT's own address does not; private addresses are unreachable from outside", async () => {
  const n = net();
  const nat = new SimNat(n, CONE);
  const h = nat.host(), neighbour = nat.host();
  const outsider = n.transport();
  const [atH, atNeighbour] = [inbox(h), inbox(neighbour)];
  send(h, outsider.address(), "map me");
  await settle(n);
  send(neighbour, h.address(), "over the LAN");
  send(neighbour, { host: nat.publicHost, port: 1 }, "hairpin");
  send(outsider, neighbour.address(), "to a private address");
  await settle(n);
  assert.equal(atH, [`over the LAN from ${neighbour.host}:${SIM_PORT}`], "LAN traffic is not translated");
  assert.equal(atNeighbour, []);
  assert.is(nat.stats.hairpin, 1);
  assert.match(h.host, /^172\.(1[6-9]|2\d|3[01])\./, "a private address");
});

test("200 DHT nodes behind cone and symmetric NATs join a 300-node network and get items", async () => {
  const sim = createSimnet(300, { seed: 11, latency: [5, 50], node: { timeout: 1000, slowAfter: 250 } });
  const nats: SimNat[] = [];
  const behind: DhtNode[] = [];
  try {
    const bootstrap = sim.nodes.slice(0, 4).map((d) => d.address());
    for (let i = 0; i < 200; i++) {
      const nat = new SimNat(sim.net, i % 2 ? SYMMETRIC : CONE);
      nats.push(nat);
      behind.push(new DhtNode({ transport: nat.host(), clock: sim.net.clock, bootstrap, maintenance: false, timeout: 1000, slowAfter: 250 }));
    }
    await sim.net.clock.until(Promise.all(behind.map((d) => d.bootstrap())));
    const item = signed(new Uint8Array(32).fill(9), 1, bytes("behind a NAT"));
    const put = await sim.net.clock.until(sim.nodes[0]!.put(item));
    const gets = await sim.net.clock.until(Promise.all(behind.map((d) => d.get(put.target))));
    const ok = gets.filter((g) => g.item && new TextDecoder().decode(g.item.v as Uint8Array) === "behind a NAT").length;
    assert.ok(ok >= 198, `${ok} of 200 gets succeeded`);
    const cone = behind.filter((_, i) => i % 2 === 0);
    assert.ok(cone.every((d, i) => d.externalAddress()?.host === nats[2 * i]!.publicHost), "each learns its NAT's address");
    assert.ok(nats.reduce((s, x) => s + x.stats.filtered, 0) > 0, "nodes that learnt of NAT'd nodes find them unreachable");
  } finally {
    for (const d of behind) d.destroy();
    sim.destroy();
  }
});

test.run();
