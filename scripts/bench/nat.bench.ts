// Peers behind NAT (PROTOCOL §9) in the simulator: 1,000 peers, 70 % behind cone NATs and 15 %
// behind symmetric ones (each its own home router), 15 % public, on a network of chat nodes that
// relay; every peer listens (announces, registers with relays when behind NAT). Then random pairs
// send one message each: the share that connects (target 100 %), the share that ends direct (to
// set beside the 70 % libp2p measured for DCUtR on the real internet), and the relays' load.
// Virtual time, one-way latency 10–100 ms. Run: `node dist/scripts/bench/nat.bench.js` or
// `deno run -A scripts/bench/nat.bench.ts`. Knobs: CHAT_BENCH_PEERS (1000), CHAT_BENCH_PAIRS (500),
// CHAT_BENCH_RELAYS (100).
import { generateIdentity } from "../../src/crypto/identity.ts";
import { DhtNode } from "../../src/dht/node.ts";
import { SimNetwork, type SimTransport } from "../../src/dht/sim.ts";
import { CONE, SimNat, SYMMETRIC } from "../../src/dht/sim_nat.ts";
import { Peer } from "../../src/peer.ts";
import { RelayingTransport } from "../../src/relaying.ts";

const PEERS = Number(process.env["CHAT_BENCH_PEERS"] ?? 1000);
const PAIRS = Number(process.env["CHAT_BENCH_PAIRS"] ?? 500);
const RELAYS = Number(process.env["CHAT_BENCH_RELAYS"] ?? 100);
const deno = (globalThis as unknown as { Deno?: { version: { deno: string } } }).Deno;
const runtime = deno ? `deno v${deno.version.deno}` : `node ${process.version}`;

type Kind = "public" | "cone" | "symmetric";
const net = new SimNetwork({ latency: [10, 100], seed: 7 });
const clock = net.clock;

/** Runs virtual time until `work` settles (or `limit` virtual ms pass). */
async function settle<T>(work: Promise<T>, limit = 120_000): Promise<T | undefined> {
  let done = false;
  let value: T | undefined;
  work.then((v) => ((done = true), (value = v)), () => (done = true));
  const end = clock.now() + limit;
  while (!done && clock.now() < end) await clock.run(clock.now() + 50);
  return value;
}

const started = performance.now();
// The chat nodes: public, each a relay.
const sockets = Array.from({ length: RELAYS }, () => new RelayingTransport(net.transport(), { clock }));
const bootstrap = sockets.slice(0, 8).map((s) => s.address());
const relayNodes = sockets.map((socket) => ({ socket, node: new DhtNode({ transport: socket, clock, bootstrap }) }));
await settle(Promise.all(relayNodes.map((r) => r.node.bootstrap().catch(() => {}))));
await settle(Promise.all(relayNodes.map((r) => r.node.bootstrap().catch(() => {}))));

// The peers, each behind its own router (or none).
const peers: { peer: Peer; kind: Kind }[] = [];
for (let i = 0; i < PEERS; i++) {
  const r = net.random();
  const kind: Kind = r < 0.7 ? "cone" : r < 0.85 ? "symmetric" : "public";
  const transport: SimTransport = kind === "public" ? net.transport() : new SimNat(net, kind === "cone" ? CONE : SYMMETRIC).host();
  const peer = await Peer.open({ identity: generateIdentity(), transport, clock, bootstrap });
  peers.push({ peer, kind });
}
await settle(Promise.all(peers.map(({ peer }) => peer.bootstrap().catch(() => {}))), 300_000);
// Every peer reads what it gets: a message is acked only once the application has taken it.
for (const { peer } of peers) void (async () => {
  for await (const _ of peer.messages());
})();
const behind = { cone: 0, symmetric: 0, public: 0 };
let detected = 0;
await settle(Promise.all(peers.map(({ peer, kind }) => peer.keepAnnounced({
  onNat: (e) => {
    behind[kind]++;
    if (e.behindNat === (kind !== "public")) detected++;
  },
}).catch(() => {}))), 300_000);
const setupMs = performance.now() - started;

// Random pairs, one message each, a few at a time.
const relayBefore = relayNodes.map((r) => ({ ...r.socket.relay.stats }));
const tStart = clock.now();
const outcomes: { from: Kind; to: Kind; path: "direct" | "relayed" | "failed" }[] = [];
const failures = new Map<string, number>();
for (let i = 0; i < PAIRS; i += 10) {
  const batch = [];
  for (let j = i; j < Math.min(PAIRS, i + 10); j++) {
    let a = Math.floor(net.random() * PEERS);
    let b = Math.floor(net.random() * PEERS);
    while (b === a) b = Math.floor(net.random() * PEERS);
    const [from, to] = [peers[a]!, peers[b]!];
    batch.push(from.peer.send(to.peer.publicKey, `hello ${j}`).then(
      (s) => outcomes.push({ from: from.kind, to: to.kind, path: s.path }),
      (e) => {
        failures.set(e.code, (failures.get(e.code) ?? 0) + 1);
        outcomes.push({ from: from.kind, to: to.kind, path: "failed" });
      },
    ));
  }
  await settle(Promise.all(batch), 60_000);
}
// Let the sessions idle a minute: keepalives through relays are part of their load.
await clock.run(clock.now() + 60_000);
const minutes = (clock.now() - tStart) / 60_000;
const load = relayNodes.map((r, i) => {
  const s = r.socket.relay.stats;
  const b = relayBefore[i]!;
  return { packets: s.forwarded + s.forwardedBack - b.forwarded - b.forwardedBack, bytes: s.bytes - b.bytes, registrations: s.registrations };
});

const pct = (n: number, d: number) => (d ? `${((100 * n) / d).toFixed(1)} %` : "—");
const ok = outcomes.filter((o) => o.path !== "failed");
const direct = outcomes.filter((o) => o.path === "direct");
console.log(`runtime: ${runtime}; ${PEERS} peers (${peers.filter((p) => p.kind === "cone").length} cone, ` +
  `${peers.filter((p) => p.kind === "symmetric").length} symmetric, ${peers.filter((p) => p.kind === "public").length} public), ` +
  `${RELAYS} relaying chat nodes, ${PAIRS} random pairs; set-up ${(setupMs / 1000).toFixed(1)} s of CPU; NAT detected right for ${detected} of ${PEERS}\n`);
console.log("| pairs | connected | direct | relayed |\n|---|--:|--:|--:|");
console.log(`| all | ${pct(ok.length, outcomes.length)} | ${pct(direct.length, outcomes.length)} | ${pct(ok.length - direct.length, outcomes.length)} |`);
for (const to of ["public", "cone", "symmetric"] as Kind[]) {
  for (const from of ["public", "cone", "symmetric"] as Kind[]) {
    const group = outcomes.filter((o) => o.from === from && o.to === to);
    const g = group.filter((o) => o.path !== "failed");
    console.log(`| ${from} → ${to} (${group.length}) | ${pct(g.length, group.length)} | ${pct(group.filter((o) => o.path === "direct").length, group.length)} | ${pct(g.filter((o) => o.path === "relayed").length, group.length)} |`);
  }
}
if (failures.size) console.log(`\nfailures by reason: ${[...failures].map(([code, n]) => `${code} ${n}`).join(", ")}`);
const used = load.filter((l) => l.packets > 0);
const sum = (f: (l: (typeof load)[number]) => number) => load.reduce((n, l) => n + f(l), 0);
const max = (f: (l: (typeof load)[number]) => number) => Math.max(...load.map(f));
console.log(`\nrelay load over ${minutes.toFixed(1)} virtual minutes (${used.length} of ${RELAYS} relays forwarded anything; registrations held: ${sum((l) => l.registrations)}):\n`);
console.log("| per relay per minute | mean | max |\n|---|--:|--:|");
console.log(`| packets forwarded | ${(sum((l) => l.packets) / RELAYS / minutes).toFixed(1)} | ${(max((l) => l.packets) / minutes).toFixed(1)} |`);
console.log(`| bytes sent (forwarded, and \`registered\` answers) | ${(sum((l) => l.bytes) / RELAYS / minutes).toFixed(0)} | ${(max((l) => l.bytes) / minutes).toFixed(0)} |`);
for (const { peer } of peers) peer.close();
for (const r of relayNodes) r.node.destroy();
