// Contact lookup benchmark, side by side in one run (prints markdown tables):
//  1. `lookup` (blinded key, encrypted record, every acceptance check) as a library call on a
//     loopback swarm of 500 nodes, beside a raw BEP 44 get of the same DHT code and bittorrent-dht's
//     BEP 44 get on a swarm of its own of the same size. Lookups and raw gets alternate, so that
//     both see the same machine load.
//  2. What the crypto costs per lookup, measured alone: blinding (A' and K) and opening a record.
//  3. The wall time of a cold `chat lookup` process, on Node and on Deno, against the same swarm.
// Run: node dist/scripts/bench/lookup.bench.js   or   deno run -A scripts/bench/lookup.bench.ts
// CHAT_BENCH_QUICK=1 runs a small swarm and few lookups (a smoke test of the script itself).
import { spawn } from "node:child_process";
import { announce, lookup } from "../../src/contact.ts";
import { periodOf } from "../../src/crypto/blind.ts";
import { formatPublicKey, generateIdentity, type Identity } from "../../src/crypto/identity.ts";
import { openRecord, recordLookup, sealRecord } from "../../src/crypto/record.ts";
import type { DhtNode } from "../../src/dht/node.ts";
import { createTestnet, startNode, type Testnet } from "../../src/dht/testnet.ts";
import { fmt, log, mean, median, newRun, pct, putItem, type Run, theirsGets, timedGet } from "./_common.ts";

const quick = process.env["CHAT_BENCH_QUICK"] === "1";
const SWARM = quick ? 40 : 500;
const LOOKUPS = quick ? 10 : 100;
const COLD_RUNS = quick ? 2 : 10;

const ADDRESS = { host: "192.0.2.10", port: 6881 };


/** chat `lookup` and a raw `get` of the same DHT, alternating, from one fresh client. */
async function oursLookups(net: Testnet): Promise<{ contact: Run; raw: Run }> {
  const putter = await startNode({ host: "127.0.0.1", bootstrap: net.bootstrap });
  const getter = await startNode({ host: "127.0.0.1", bootstrap: net.bootstrap });
  try {
    await putter.bootstrap();
    await getter.bootstrap();
    const identities: Identity[] = [];
    const targets: Uint8Array[] = [];
    for (let i = 0; i < LOOKUPS; i++) {
      const identity = generateIdentity();
      await announce(putter, identity, { addresses: [ADDRESS] });
      identities.push(identity);
      targets.push(await putItem(putter, i));
    }
    const contact = newRun(), raw = newRun();
    for (let i = 0; i < LOOKUPS; i++) {
      const t = performance.now();
      const found = await lookup(getter, identities[i]!.publicKey);
      contact.ms.push(performance.now() - t);
      contact.queries.push(found.queried);
      if (found.found && found.addresses[0]?.host === ADDRESS.host) contact.ok++;
      await timedGet(getter, targets[i]!, i, raw);
    }
    return { contact, raw };
  } finally {
    putter.destroy();
    getter.destroy();
  }
}

/** Mean ms of `fn` over `n` calls, after a warm-up. */
function timeEach(n: number, fn: (i: number) => unknown): number {
  for (let i = 0; i < 20; i++) fn(i);
  const t = performance.now();
  for (let i = 0; i < n; i++) fn(i);
  return (performance.now() - t) / n;
}

function cryptoCosts(): { blind: number; open: number } {
  const identity = generateIdentity();
  const now = Math.floor(Date.now() / 1000);
  const p = periodOf(now);
  const record = sealRecord(identity, p, { addresses: [ADDRESS], t: now }, now);
  const context = recordLookup(identity.publicKey, p);
  // A key not seen before, as a lookup by raw bytes meets it (its validity check is then remembered).
  const keys = Array.from({ length: 220 }, () => generateIdentity().publicKey);
  let next = 0;
  return {
    blind: timeEach(200, () => recordLookup(keys[next++]!, p)),
    open: timeEach(200, () => openRecord(context, record, now)),
  };
}

interface Cold { wall: number[]; inner: number[]; ok: number }

/** Spawns `chat lookup` (async: this process serves the swarm meanwhile) and times it to exit. */
function coldLookup(argv: string[]): Promise<{ wall: number; code: number | null; out: string }> {
  const t = performance.now();
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "pipe", "ignore"] });
  let out = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
  return new Promise((resolve) => child.on("close", (code) => resolve({ wall: performance.now() - t, code, out })));
}

async function coldRuns(runtime: "node" | "deno", net: Testnet, publicKey: string): Promise<Cold> {
  const chat = runtime === "node" ? ["node", "bin/chat.mjs"] : ["node_modules/.bin/deno", "run", "-A", "src/main.ts"];
  const bootstrap = net.bootstrap.map((a) => `${a.host}:${a.port}`).join(",");
  const run: Cold = { wall: [], inner: [], ok: 0 };
  await coldLookup([...chat, "lookup", publicKey, "--bootstrap", bootstrap]); // warm the disk and Deno's cache
  for (let i = 0; i < COLD_RUNS; i++) {
    const r = await coldLookup([...chat, "lookup", publicKey, "--bootstrap", bootstrap]);
    run.wall.push(r.wall);
    if (r.code === 0) {
      run.ok++;
      run.inner.push(JSON.parse(r.out).ms);
    }
  }
  return run;
}

async function startup(runtime: "node" | "deno"): Promise<number> {
  const chat = runtime === "node" ? ["node", "bin/chat.mjs"] : ["node_modules/.bin/deno", "run", "-A", "src/main.ts"];
  await coldLookup([...chat, "--version"]);
  const walls: number[] = [];
  for (let i = 0; i < COLD_RUNS; i++) walls.push((await coldLookup([...chat, "--version"])).wall);
  return median(walls);
}

const runtime = "Deno" in globalThis ? `Deno ${(globalThis as { Deno?: { version: { deno: string } } }).Deno!.version.deno}` : `Node ${process.versions.node}`;
console.log(`## Contact lookup benchmark (${runtime}${quick ? ", quick" : ""})\n`);

log(`swarm of ${SWARM}: chat`);
const net = await createTestnet(SWARM);
let cold: { node: Cold; deno: Cold; startNode: number; startDeno: number };
let ours: { contact: Run; raw: Run };
try {
  ours = await oursLookups(net);
  log("cold processes");
  const target = generateIdentity();
  const client: DhtNode = await startNode({ host: "127.0.0.1", bootstrap: net.bootstrap });
  try {
    await client.bootstrap();
    await announce(client, target, { addresses: [ADDRESS] });
  } finally {
    client.destroy();
  }
  const key = formatPublicKey(target.publicKey);
  cold = { node: await coldRuns("node", net, key), deno: await coldRuns("deno", net, key), startNode: await startup("node"), startDeno: await startup("deno") };
} finally {
  net.destroy();
}
log(`swarm of ${SWARM}: bittorrent-dht`);
const theirs = await theirsGets(SWARM, LOOKUPS);

console.log(`Lookup of one public key on a loopback swarm of ${SWARM} nodes, ${LOOKUPS} keys, one at a time from one client in the same process as the swarm.\n`);
console.log("| what | median ms | p95 ms | mean ms | queries (median) | found |");
console.log("|---|---:|---:|---:|---:|---:|");
const row = (name: string, r: Run) =>
  console.log(`| ${name} | ${fmt(median(r.ms), 2)} | ${fmt(pct(r.ms, 0.95), 2)} | ${fmt(mean(r.ms), 2)} | ${median(r.queries)} | ${(100 * r.ok / LOOKUPS).toFixed(0)} % |`);
row("chat `lookup` (blinded key, encrypted record)", ours.contact);
row("chat raw BEP 44 get (same DHT, plain item)", ours.raw);
row("bittorrent-dht 11 BEP 44 get", theirs);
console.log(`| ratio chat lookup / chat raw get | ${fmt(median(ours.contact.ms) / median(ours.raw.ms), 2)} | ${fmt(pct(ours.contact.ms, 0.95) / pct(ours.raw.ms, 0.95), 2)} | ${fmt(mean(ours.contact.ms) / mean(ours.raw.ms), 2)} | | |`);
console.log(`| ratio chat lookup / bittorrent-dht get | ${fmt(median(ours.contact.ms) / median(theirs.ms), 2)} | ${fmt(pct(ours.contact.ms, 0.95) / pct(theirs.ms, 0.95), 2)} | ${fmt(mean(ours.contact.ms) / mean(theirs.ms), 2)} | | |`);

const costs = cryptoCosts();
console.log(`\nCrypto per lookup, measured alone: blinding a key seen for the first time (A' = h·A, K) ${fmt(costs.blind, 2)} ms, opening one record (signature, decryption, checks) ${fmt(costs.open, 2)} ms.\n`);

console.log(`A cold \`chat lookup PUBKEY --bootstrap …\` process against the same swarm (${COLD_RUNS} runs: start-up, the lookup starting from the bootstrap nodes, exit).\n`);
console.log("| runtime | wall median ms | wall p95 ms | lookup inside (median ms) | `chat --version` (median ms) | found |");
console.log("|---|---:|---:|---:|---:|---:|");
for (const [name, r, start] of [["Node", cold.node, cold.startNode], ["Deno", cold.deno, cold.startDeno]] as const) {
  console.log(`| ${name} | ${fmt(median(r.wall), 0)} | ${fmt(pct(r.wall, 0.95), 0)} | ${fmt(median(r.inner), 0)} | ${fmt(start, 0)} | ${r.ok}/${COLD_RUNS} |`);
}
