// Sessions end to end, side by side with hyperdht in one run (DESIGN.md, "Quality bars"):
//   1. the first message to a public key on a 100-node loopback swarm: a fresh sender each time
//      (its own DHT node and identity, no cached session) looks up the receiver's blinded record,
//      handshakes, delivers, gets the ack; against hyperdht's connect + echo on its own testnet;
//   2. throughput over one established session: many small messages, and 64 KiB messages; the
//      receiving end (chat's endpoint, hyperdht's sink server) runs in a child process of the same
//      runtime (_session_peer.ts), so that each end has a core, unless CHAT_BENCH_SPLIT=0;
// A cold `chat send` process is coldstart.bench.ts's (from the installed package, interleaved).
// Prints the runtime, then markdown tables. Run: `node dist/scripts/bench/session.bench.js` or
// `deno run -A scripts/bench/session.bench.ts`. Knobs (environment): CHAT_BENCH_NODES (100),
// CHAT_BENCH_ITERS (20); CHAT_BENCH_PARTS=1 or 2 runs one part;
// CHAT_BENCH_SPLIT=0 keeps both ends of part 2 in this process; CHAT_BENCH_SMALL (20000) and
// CHAT_BENCH_LARGE (1024) are part 2's message counts.
// hyperdht runs on Node only: its UDP layer (udx-native) is a libuv addon that Deno cannot load.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { generateIdentity, type Identity } from "../../src/crypto/identity.ts";
import { createTestnet } from "../../src/dht/testnet.ts";
import { UdpTransport } from "../../src/dht/udp.ts";
import { Peer } from "../../src/peer.ts";
import { SessionEndpoint } from "../../src/wire/endpoint.ts";

const NODES = Number(process.env["CHAT_BENCH_NODES"] ?? 100);
const ITERS = Number(process.env["CHAT_BENCH_ITERS"] ?? 20);
const PARTS = new Set((process.env["CHAT_BENCH_PARTS"] ?? "1,2").split(",").map((s) => s.trim()));
const SPLIT = process.env["CHAT_BENCH_SPLIT"] !== "0";
/** Iterations run first and not counted (JIT warm-up, first-use caches). */
const WARMUP = 10;
const HOST = "127.0.0.1";
/**
 * Pause before each first-message iteration: every sender comes from 127.0.0.1, and a receiver
 * answers at most 20 initiations per second per source IP (burst 5, as WireGuard), so unpaced
 * iterations would measure the rate limiter (a 500 ms handshake retry) instead of the protocol.
 */
const PACE = 60;

const isDeno = "Deno" in globalThis;
const deno = (globalThis as unknown as { Deno?: { version: { deno: string }; execPath(): string } }).Deno;
const runtime = deno ? `deno v${deno.version.deno}` : `node ${process.version}`;
const NA = isDeno ? "n/a on Deno" : "n/a";

// ---- helpers -------------------------------------------------------------------------------------

const now = () => performance.now();
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Rejects after `ms` so that a hung iteration fails the bench instead of stalling it. */
function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

interface Summary {
  median: number;
  p95: number;
  min: number;
  max: number;
  n: number;
  /** Samples of STALL ms or more. */
  stalls: number;
}

/** A sample this slow waited out a timeout (a dead DHT contact costs `slowAfter`, 1 s). */
const STALL = 500;

function summarize(samples: number[]): Summary {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
  const median = s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  return { median, p95: at(0.95), min: s[0]!, max: s[s.length - 1]!, n: s.length, stalls: s.filter((x) => x >= STALL).length };
}

const ms = (x: number | undefined) => (x === undefined ? "—" : x >= 100 ? `${Math.round(x)} ms` : `${x.toFixed(1)} ms`);
const num = (x: number) => (x >= 100 ? Math.round(x).toLocaleString("en-US") : x.toFixed(1));
/** "chat ÷ other" for times: below 1 means chat is faster. */
const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? "—" : `${(a / b).toFixed(2)}×`);

/** The receiving end of part 2 in a child process of this runtime (_session_peer.ts), JSON lines both ways. */
async function spawnPeer(args: string[]) {
  const script = fileURLToPath(new URL(`./_session_peer.${isDeno ? "ts" : "js"}`, import.meta.url));
  // Node's flags (--cpu-prof, say) go to the child too, so that both ends can be profiled.
  const child = deno ? spawn(deno.execPath(), ["run", "-A", script, ...args]) : spawn(process.execPath, [...process.execArgv, script, ...args]);
  child.stderr.on("data", (d: Uint8Array) => process.stderr.write(d));
  const waiting: ((line: string) => void)[] = [];
  let buffered = "";
  child.stdout.on("data", (d: Uint8Array) => {
    buffered += new TextDecoder().decode(d);
    for (let i = buffered.indexOf("\n"); i >= 0; i = buffered.indexOf("\n")) {
      const line = buffered.slice(0, i);
      buffered = buffered.slice(i + 1);
      waiting.shift()?.(line);
    }
  });
  const next = <T>() => within(60_000, "bench peer", new Promise<T>((resolve) => waiting.push((line) => resolve(JSON.parse(line) as T))));
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  return {
    hello: await next<{ publicKey: string; port?: number }>(),
    ask<T>(value: object): Promise<T> {
      const answer = next<T>();
      child.stdin.write(`${JSON.stringify(value)}\n`);
      return answer;
    },
    async close() {
      child.stdin.end();
      await within(10_000, "bench peer exit", exited).catch(() => child.kill("SIGKILL"));
    },
  };
}

const fromHex = (h: string) => Uint8Array.from(h.match(/../g) as string[], (x) => parseInt(x, 16));

// ---- 1. first message by public key ----------------------------------------------------------------

interface FirstMessage {
  total: Summary;
  lookup: Summary;
  deliver: Summary;
  /** Fresh node joining the swarm (not in the total). */
  join: Summary;
  setupMs: number;
}

/**
 * Each iteration: a fresh Peer (new identity, new DHT node) joins, then `send` times the lookup,
 * handshake, message and ack. `keepSenders`: leave earlier senders running instead of closing
 * each one, so that no lookup meets the dead contacts that closed senders leave in routing tables.
 */
async function chatFirstMessage(keepSenders: boolean): Promise<FirstMessage> {
  const t0 = now();
  const net = await createTestnet(NODES);
  const setupMs = now() - t0;
  const receiver = await Peer.open({ identity: generateIdentity(), host: HOST, bootstrap: net.bootstrap });
  const senders: Peer[] = [];
  try {
    await receiver.bootstrap();
    const announced = await receiver.announce({ addresses: [receiver.address()] });
    if (!announced.stored) throw new Error("no node stored the receiver's record");
    const inbox = receiver.messages();
    void (async () => {
      for await (const _ of inbox);
    })();
    const total: number[] = [], lookup: number[] = [], deliver: number[] = [], join: number[] = [];
    for (let i = 0; i < WARMUP + ITERS; i++) {
      await sleep(PACE);
      const j0 = now();
      // As `chat send`: a BEP 43 read-only node, which no routing table keeps once it is gone.
      const sender = await Peer.open({ identity: generateIdentity(), host: HOST, bootstrap: net.bootstrap, readOnly: true });
      senders.push(sender);
      await sender.bootstrap();
      const s0 = now();
      const sent = await within(15_000, "chat send", sender.send(receiver.publicKey, `hello ${i}`));
      const t = now() - s0;
      if (!keepSenders) sender.close();
      if (i < WARMUP) continue;
      join.push(s0 - j0);
      total.push(t);
      lookup.push(sent.lookupMs);
      deliver.push(sent.rttMs);
    }
    return { total: summarize(total), lookup: summarize(lookup), deliver: summarize(deliver), join: summarize(join), setupMs };
  } finally {
    for (const s of senders) s.close();
    receiver.close();
    net.destroy();
  }
}

// hyperdht is CommonJS without types; loaded by a computed name so tsc leaves it alone.
type HyperDHT = {
  new (opts: object): HyperNode;
  keyPair(): { publicKey: Uint8Array; secretKey: Uint8Array };
};
type HyperNode = {
  fullyBootstrapped(): Promise<void>;
  createServer(onConnection: (socket: HyperSocket) => void): { listen(keyPair: object): Promise<void>; close(): Promise<void> };
  connect(publicKey: Uint8Array): HyperSocket;
  destroy(): Promise<void>;
};
type HyperSocket = {
  on(event: string, fn: (arg: never) => void): void;
  once(event: string, fn: (arg: never) => void): void;
  write(data: Uint8Array): boolean;
  end(): void;
  destroy(): void;
};
type HyperTestnet = { nodes: HyperNode[]; bootstrap: { host: string; port: number }[]; destroy(): Promise<void> };

async function loadHyperdht(): Promise<{ DHT: HyperDHT; createTestnet: (n: number, opts: object) => Promise<HyperTestnet> } | undefined> {
  if (isDeno) return undefined;
  const name = "hyperdht";
  const DHT = ((await import(name)) as { default: HyperDHT }).default;
  const createTestnet = ((await import(`${name}/testnet.js`)) as { default: (n: number, opts: object) => Promise<HyperTestnet> }).default;
  return { DHT, createTestnet };
}

/** Resolves once `socket` has delivered `bytes` bytes in all. */
function readBytes(socket: HyperSocket, bytes: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let got = 0;
    const onData = (d: Uint8Array) => {
      got += d.length;
      if (got >= bytes) resolve();
    };
    socket.on("data", onData);
    socket.once("error", reject);
  });
}

interface HyperResults {
  first: FirstMessage;
  small?: Throughput;
  large?: Throughput;
}

async function hyperdht(small: { count: number; size: number }, large: { count: number; size: number }): Promise<HyperResults | undefined> {
  const lib = await loadHyperdht();
  if (!lib) return undefined;
  const { DHT, createTestnet } = lib;
  const t0 = now();
  const testnet = await createTestnet(NODES, { host: HOST });
  const setupMs = now() - t0;
  const node = (): HyperNode => new DHT({ ephemeral: true, bootstrap: testnet.bootstrap, host: HOST });
  const serverNode = node();
  const clients: HyperNode[] = [];
  try {
    await serverNode.fullyBootstrapped();
    const keyPair = DHT.keyPair();
    // An echo server: what comes in goes back out.
    const server = serverNode.createServer((socket) => {
      socket.on("error", () => {});
      socket.on("data", (d: Uint8Array) => void socket.write(d));
    });
    await server.listen(keyPair);
    const total: number[] = [], join: number[] = [];
    const hello = new TextEncoder().encode("hello");
    for (let i = 0; i < WARMUP + ITERS; i++) {
      await sleep(PACE);
      const j0 = now();
      const client = node();
      clients.push(client);
      await client.fullyBootstrapped();
      const s0 = now();
      const socket = client.connect(keyPair.publicKey);
      socket.on("error", () => {});
      const echoed = readBytes(socket, hello.length);
      socket.write(hello);
      await within(15_000, "hyperdht connect", echoed);
      const t = now() - s0;
      socket.destroy();
      await client.destroy();
      if (i < WARMUP) continue;
      join.push(s0 - j0);
      total.push(t);
    }
    const first = { total: summarize(total), join: summarize(join), setupMs } as FirstMessage;

    // Throughput: one connection, the server counts bytes and answers one byte once all arrived;
    // in a child process (SPLIT), told how many bytes to expect before each stream.
    let expect = 0;
    let counted = 0;
    const sink = DHT.keyPair();
    const sinkServer = serverNode.createServer((socket) => {
      socket.on("error", () => {});
      socket.on("data", (d: Uint8Array) => {
        counted += d.length;
        if (expect && counted >= expect) {
          expect = 0;
          socket.write(new Uint8Array(1));
        }
      });
    });
    await sinkServer.listen(sink);
    const peer = SPLIT ? await spawnPeer(["hyperdht", ...testnet.bootstrap.map((b) => `${b.host}:${b.port}`)]) : undefined;
    const client = node();
    clients.push(client);
    await client.fullyBootstrapped();
    const socket = client.connect(peer ? fromHex(peer.hello.publicKey) : sink.publicKey);
    socket.on("error", () => {});
    await new Promise<void>((resolve) => socket.once("open", () => resolve()));
    const stream = async ({ count, size }: { count: number; size: number }): Promise<Throughput> => {
      const chunk = new Uint8Array(size).fill(0x61);
      if (peer) {
        await peer.ask({ expect: count * size });
      } else {
        counted = 0;
        expect = count * size;
      }
      const done = readBytes(socket, 1);
      const s0 = now();
      for (let i = 0; i < count; i++) socket.write(chunk);
      await within(60_000, "hyperdht stream", done);
      return throughput(count, size, now() - s0);
    };
    await stream({ count: 200, size: 1024 }); // warm-up
    const smallResult = await stream(small);
    const largeResult = await stream(large);
    socket.destroy();
    await peer?.close();
    await sinkServer.close();
    await server.close();
    return { first, small: smallResult, large: largeResult };
  } finally {
    for (const c of clients) await c.destroy().catch(() => {});
    await serverNode.destroy().catch(() => {});
    await testnet.destroy();
  }
}

// ---- 2. throughput over one session --------------------------------------------------------------

interface Throughput {
  count: number;
  size: number;
  ms: number;
  perSecond: number;
  mbPerSecond: number;
  /** Messages not acknowledged within the 10 s delivery timeout. */
  failed?: number;
  retransmissions?: number;
}

const throughput = (count: number, size: number, elapsed: number): Throughput => ({
  count,
  size,
  ms: elapsed,
  perSecond: (count * 1000) / elapsed,
  mbPerSecond: (count * size) / 1e6 / (elapsed / 1000),
});

/** Two endpoints on two loopback UDP sockets, exactly as a Peer wires them (minus the DHT). */
async function sessionPair() {
  const open = async (identity: Identity) => {
    const socket = await UdpTransport.bind({ host: HOST });
    const endpoint = new SessionEndpoint({ identity, send: (buf, to) => socket.send(buf, to) });
    socket.onMessage((buf, from) => endpoint.receive(buf, from));
    return { identity, socket, endpoint };
  };
  const a = await open(generateIdentity());
  const b = await open(generateIdentity());
  return {
    a,
    b,
    close() {
      for (const side of [a, b]) {
        side.endpoint.close();
        side.socket.close();
      }
    },
  };
}

/**
 * Sends `count` messages of `size` bytes from a to b over one established session, at most
 * `inflight` unacknowledged at once (the endpoint's own send window caps it in any case),
 * and returns when every one was acknowledged. With SPLIT, b is a child process.
 */
async function chatThroughput(count: number, size: number, inflight: number): Promise<Throughput> {
  const pair = SPLIT ? undefined : await sessionPair();
  const peer = SPLIT ? await spawnPeer(["chat"]) : undefined;
  const a = pair?.a ?? await (async () => {
    const socket = await UdpTransport.bind({ host: HOST });
    const endpoint = new SessionEndpoint({ identity: generateIdentity(), send: (buf, to) => socket.send(buf, to) });
    socket.onMessage((buf, from) => endpoint.receive(buf, from));
    return { socket, endpoint };
  })();
  try {
    const to = pair ? pair.b.socket.address() : { host: HOST, port: peer?.hello.port as number };
    const key = pair ? pair.b.identity.publicKey : fromHex(peer?.hello.publicKey as string);
    if (pair) {
      const inbox = pair.b.endpoint.messages();
      void (async () => {
        for await (const _ of inbox);
      })();
    }
    await a.endpoint.sendMessage(key, to, "hello"); // the handshake
    const warm = "x".repeat(Math.min(size, 1024));
    for (let round = 0; round < 4; round++) {
      await Promise.all(Array.from({ length: 250 }, () => a.endpoint.sendMessage(key, to, warm)));
    }
    const retransmitted = a.endpoint.stats.retransmissions;
    const text = "x".repeat(size);
    const s0 = now();
    let next = 0;
    let failed = 0;
    const worker = async () => {
      while (next < count) {
        next++;
        await a.endpoint.sendMessage(key, to, text).catch(() => void failed++);
      }
    };
    await within(120_000, "chat throughput", Promise.all(Array.from({ length: Math.min(inflight, count) }, worker)));
    const elapsed = now() - s0;
    // Throughput counts what was delivered; a message that timed out is reported, not hidden.
    return { ...throughput(count - failed, size, elapsed), failed, retransmissions: a.endpoint.stats.retransmissions - retransmitted };
  } finally {
    if (pair) pair.close();
    else {
      a.endpoint.close();
      a.socket.close();
      await peer?.close();
    }
  }
}

// ---- the tables ----------------------------------------------------------------------------------

const SMALL = { count: Number(process.env["CHAT_BENCH_SMALL"] ?? 20_000), size: 100 };
// 64 MB: both stacks reach their steady rate (with 16 MB, warm-up held chat at ~77 % and hyperdht at ~92 %).
const LARGE = { count: Number(process.env["CHAT_BENCH_LARGE"] ?? 1024), size: 65536 };

const started = now();
// Which UDP socket this runtime got (Deno's own needs deno.json's "net" feature): it shapes the figures.
const probe = await UdpTransport.bind({ host: HOST });
console.log(`${runtime} (UDP: ${probe.kind})`);
probe.close();

let hyper: HyperResults | undefined;
let hyperError: string | undefined;
if (PARTS.has("1") || PARTS.has("2")) {
  try {
    hyper = await hyperdht(SMALL, LARGE);
  } catch (err) {
    hyperError = (err as Error).message;
  }
}
const hyperCell = (f: (h: HyperResults) => string | undefined) => (hyper ? f(hyper) ?? "—" : hyperError ? "error" : NA);

if (PARTS.has("1")) {
  const chat = await chatFirstMessage(false);
  const kept = await chatFirstMessage(true);
  const h = hyper?.first;
  const hc = (f: (h: FirstMessage) => string) => hyperCell(() => (h ? f(h) : undefined));
  console.log("");
  console.log(`#### First message by public key: ${NODES}-node loopback swarm, a fresh sender each time (${ITERS} runs after ${WARMUP} warm-up)`);
  console.log("");
  console.log("chat: lookup + handshake + message + ack; hyperdht: connect + write + echo. Columns: chat as `chat send` does it (each");
  console.log("sender closes after its message); chat with every earlier sender still running; hyperdht (ephemeral client nodes).");
  console.log("");
  console.log("| | chat | chat, senders kept up | hyperdht | chat ÷ hyperdht | kept up ÷ hyperdht |");
  console.log("|---|--:|--:|--:|--:|--:|");
  console.log(`| median | ${ms(chat.total.median)} | ${ms(kept.total.median)} | ${hc((x) => ms(x.total.median))} | ${ratio(chat.total.median, h?.total.median)} | ${ratio(kept.total.median, h?.total.median)} |`);
  console.log(`| p95 | ${ms(chat.total.p95)} | ${ms(kept.total.p95)} | ${hc((x) => ms(x.total.p95))} | ${ratio(chat.total.p95, h?.total.p95)} | ${ratio(kept.total.p95, h?.total.p95)} |`);
  console.log(`| min … max | ${ms(chat.total.min)} … ${ms(chat.total.max)} | ${ms(kept.total.min)} … ${ms(kept.total.max)} | ${hc((x) => `${ms(x.total.min)} … ${ms(x.total.max)}`)} | | |`);
  console.log(`| runs of ${STALL} ms or more | ${chat.total.stalls} of ${ITERS} | ${kept.total.stalls} of ${ITERS} | ${hc((x) => `${x.total.stalls} of ${ITERS}`)} | | |`);
  console.log(`| of which lookup (median) | ${ms(chat.lookup.median)} | ${ms(kept.lookup.median)} | (inside connect) | | |`);
  console.log(`| of which handshake + message + ack (median) | ${ms(chat.deliver.median)} | ${ms(kept.deliver.median)} | | | |`);
  console.log(`| not counted: the fresh node joins (median; runs ≥ ${STALL} ms) | ${ms(chat.join.median)}; ${chat.join.stalls} | ${ms(kept.join.median)}; ${kept.join.stalls} | ${hc((x) => `${ms(x.join.median)}; ${x.join.stalls}`)} | | |`);
  console.log(`| not counted: starting the swarm | ${ms(chat.setupMs)} | ${ms(kept.setupMs)} | ${hc((x) => ms(x.setupMs))} | | |`);
  if (hyperError) console.log(`\nhyperdht failed: ${hyperError}`);
}

if (PARTS.has("2")) {
  const rows: [string, Throughput, Throughput | undefined][] = [];
  rows.push([`${SMALL.count.toLocaleString("en-US")} × ${SMALL.size} B, window 32`, await chatThroughput(SMALL.count, SMALL.size, 32), hyper?.small]);
  rows.push([`${LARGE.count} × 64 KiB, one at a time`, await chatThroughput(LARGE.count, LARGE.size, 1), hyper?.large]);
  rows.push([`${LARGE.count} × 64 KiB, 4 in flight`, await chatThroughput(LARGE.count, LARGE.size, 4), hyper?.large]);
  rows.push([`${LARGE.count} × 64 KiB, window 32`, await chatThroughput(LARGE.count, LARGE.size, 32), hyper?.large]);
  console.log("");
  const where = SPLIT
    ? "the receiving end (chat's endpoint, hyperdht's sink server) in a child process, so each end has a core"
    : "both ends in this process";
  console.log(`#### Throughput over one established session (loopback, ${where}; every chat message acknowledged)`);
  console.log("");
  console.log("| messages | chat msg/s | chat MB/s | chat retransmissions | chat not delivered | hyperdht stream writes/s | hyperdht MB/s | chat ÷ hyperdht (MB/s) |");
  console.log("|---|--:|--:|--:|--:|--:|--:|--:|");
  for (const [name, c, h] of rows) {
    const hs = hyperCell(() => h && num(h.perSecond));
    const hm = hyperCell(() => h && h.mbPerSecond.toFixed(1));
    const r = h ? `${(c.mbPerSecond / h.mbPerSecond).toFixed(2)}×` : "—";
    console.log(`| ${name} | ${num(c.perSecond)} | ${c.mbPerSecond.toFixed(1)} | ${c.retransmissions ?? 0} | ${c.failed ?? 0} | ${hs} | ${hm} | ${r} |`);
  }
  if (hyper) console.log("\nhyperdht: the same bytes written to one stream (no per-message acks), timed until the server has them all.");
}

console.log(`\n(bench wall time ${((now() - started) / 1000).toFixed(1)} s)`);
