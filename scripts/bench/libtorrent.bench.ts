// BEP 44 get against libtorrent, the Mainline implementation most of the DHT runs, on its own
// ground: a loopback swarm of libtorrent nodes (libtorrent_swarm.py, Debian's python3-libtorrent).
// chat puts the records into that swarm; then a read-only libtorrent client and chat's read-only
// DhtNode get the same records, interleaved record by record (who goes first alternates), for
// three passes. Prints, per client, the time to the first valid item and to the end of the
// lookup (libtorrent: its authoritative alert), queries per get, and the ratios.
// Run: node dist/scripts/bench/libtorrent.bench.js   or   deno run -A scripts/bench/libtorrent.bench.ts
// CHAT_BENCH_QUICK=1: a smaller swarm and fewer records; CHAT_BENCH_PASSES=n: n passes (the machine is noisy). Loopback only; every process it starts
// is killed at the end, on failure too.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { ed25519 } from "@noble/curves/ed25519.js";
import type { DhtNode } from "../../src/dht/node.ts";
import { startNode } from "../../src/dht/testnet.ts";
import type { Address } from "../../src/dht/transport.ts";
import { UdpTransport } from "../../src/dht/udp.ts";
import { fmt, log, median, pct, putItem, seedOf, value } from "./_common.ts";

const quick = process.env["CHAT_BENCH_QUICK"] === "1";
const SWARM = quick ? 16 : 32;
const RECORDS = quick ? 10 : 40;
const PASSES = Number(process.env["CHAT_BENCH_PASSES"] ?? (quick ? 1 : 3));
/** The whole bench, swarm start included, must end within this (then everything is killed). */
const DEADLINE_MS = 10 * 60_000;

interface Client { name: string; get: (i: number) => Promise<Sample> }
interface Sample { firstMs: number | null; endMs: number | null; queries: number; ok: boolean }
interface Got { firstMs: number | null; endMs: number | null; seq: number; value: string | null; queries: number }

const decoder = new TextDecoder("latin1");

/** A python3 that imports libtorrent; when none does and we are root, apt-get installs it. */
function findPython(): string | null {
  const candidates = ["python3", "/usr/bin/python3"];
  const works = (py: string) => spawnSync(py, ["-c", "import libtorrent"], { stdio: "ignore" }).status === 0;
  const found = candidates.find(works);
  if (found) return found;
  if (process.getuid?.() !== 0) {
    log("libtorrent bench skipped: python3-libtorrent is missing; install it with `sudo apt-get install python3-libtorrent`");
    return null;
  }
  log("python3-libtorrent is missing: installing it with apt-get");
  const apt = (args: string[]) => spawnSync("apt-get", args, { stdio: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  if (apt(["install", "-y", "--no-install-recommends", "python3-libtorrent"]).status !== 0) {
    apt(["update"]);
    apt(["install", "-y", "--no-install-recommends", "python3-libtorrent"]);
  }
  return candidates.find(works) ?? null;
}

function helperPath(): string {
  // From source (Deno) the helper is beside this file; from dist/ (Node) it is in the source tree.
  const beside = fileURLToPath(new URL("./libtorrent_swarm.py", import.meta.url));
  return existsSync(beside) ? beside : fileURLToPath(new URL("../../../scripts/bench/libtorrent_swarm.py", import.meta.url));
}

/** The libtorrent swarm and client: one helper process in its own process group. */
class Swarm {
  readonly nodes: Address[];
  private readonly _child: ChildProcess;
  private readonly _lines: AsyncIterator<string>;

  private constructor(child: ChildProcess, lines: AsyncIterator<string>, nodes: Address[]) {
    this._child = child;
    this._lines = lines;
    this.nodes = nodes;
  }

  static async start(python: string, n: number): Promise<Swarm> {
    const child = spawn(python, [helperPath(), "--nodes", String(n), "--max-seconds", String(DEADLINE_MS / 1000)], {
      stdio: ["pipe", "pipe", "inherit"], detached: true,
    });
    const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    const swarm = new Swarm(child, lines, []);
    const ready = JSON.parse((await lines.next()).value ?? "null") as { nodes: string[]; tableSizes: number[]; clientTable: number } | null;
    if (!ready) {
      swarm.kill();
      throw new Error("libtorrent swarm did not start (see its stderr above)");
    }
    log(`libtorrent swarm: ${n} nodes, table sizes ${Math.min(...ready.tableSizes)}–${Math.max(...ready.tableSizes)}, client ${ready.clientTable}`);
    swarm.nodes.push(...ready.nodes.map((s) => ({ host: s.split(":")[0]!, port: Number(s.split(":")[1]) })));
    return swarm;
  }

  async get(publicKey: Uint8Array): Promise<Got> {
    this._child.stdin!.write(JSON.stringify({ get: Buffer.from(publicKey).toString("hex") }) + "\n");
    const line = await this._lines.next();
    if (line.done) throw new Error("libtorrent swarm exited");
    return JSON.parse(line.value) as Got;
  }

  kill(): void {
    try {
      process.kill(-this._child.pid!, "SIGKILL");
    } catch {
      this._child.kill("SIGKILL");
    }
  }
}

async function chatGet(node: DhtNode, target: Uint8Array, i: number): Promise<Sample> {
  const t = performance.now();
  let first: number | null = null;
  const res = await node.get(target, { validate: () => { first ??= performance.now() - t; return true; } });
  const endMs = performance.now() - t;
  const ok = !!res.item && decoder.decode(res.item.v as Uint8Array) === decoder.decode(value(i));
  return { firstMs: first, endMs, queries: res.stats.queries, ok };
}

async function libtorrentGet(swarm: Swarm, i: number): Promise<Sample> {
  const got = await swarm.get(ed25519.getPublicKey(seedOf(i)));
  return { firstMs: got.firstMs, endMs: got.endMs, queries: got.queries, ok: got.value === decoder.decode(value(i)) };
}

const ms = (xs: Sample[], key: "firstMs" | "endMs") => xs.map((s) => s[key] ?? Infinity);

async function main(): Promise<number> {
  const version = "Deno" in globalThis ? `Deno ${(globalThis as { Deno?: { version: { deno: string } } }).Deno!.version.deno}` : `Node ${process.versions.node}`;
  const probe = await UdpTransport.bind({ host: "127.0.0.1" });
  const runtime = `${version}, UDP: ${probe.kind}`;
  probe.close();
  const python = findPython();
  if (!python) return 0;
  const swarm = await Swarm.start(python, SWARM);
  const cleanup: (() => void)[] = [() => swarm.kill()];
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      for (const f of cleanup) f();
      process.exit(130);
    });
  }
  const deadline = setTimeout(() => {
    log("libtorrent bench: deadline passed, killing everything");
    for (const f of cleanup) f();
    process.exit(1);
  }, DEADLINE_MS);
  try {
    const putter = await startNode({ host: "127.0.0.1", bootstrap: swarm.nodes });
    cleanup.push(() => putter.destroy());
    await putter.bootstrap();
    const targets: Uint8Array[] = [];
    for (let i = 0; i < RECORDS; i++) targets.push(await putItem(putter, i));
    const getter = await startNode({ host: "127.0.0.1", bootstrap: swarm.nodes, readOnly: true });
    cleanup.push(() => getter.destroy());
    await getter.bootstrap();
    const clients: Client[] = [
      { name: "libtorrent", get: (i) => libtorrentGet(swarm, i) },
      { name: "chat", get: (i) => chatGet(getter, targets[i]!, i) },
    ];
    const rows: string[] = [];
    for (let pass = 1; pass <= PASSES; pass++) {
      const samples = new Map<Client, Sample[]>(clients.map((c) => [c, []]));
      for (let i = 0; i < RECORDS; i++) {
        // Who goes first alternates from one record to the next.
        for (let j = 0; j < clients.length; j++) {
          const c = clients[(i + pass + j) % clients.length]!;
          samples.get(c)!.push(await c.get(i));
        }
      }
      const theirs = samples.get(clients[0]!)!;
      for (const [c, xs] of samples) {
        const cell = (key: "firstMs" | "endMs") => `${fmt(median(ms(xs, key)), 2)} / ${fmt(pct(ms(xs, key), 0.95), 2)}`;
        const ratio = (key: "firstMs" | "endMs") => fmt(median(ms(xs, key)) / median(ms(theirs, key)), 2);
        const ok = `${(100 * xs.filter((s) => s.ok).length / xs.length).toFixed(0)} %`;
        rows.push(`| ${pass} | ${c.name} | ${cell("firstMs")} | ${ratio("firstMs")} | ${cell("endMs")} | ${ratio("endMs")} | ${median(xs.map((s) => s.queries))} | ${ok} |`);
      }
    }
    console.log(`## BEP 44 get against libtorrent ${libtorrentVersion(python)} (${runtime}${quick ? ", quick" : ""})\n`);
    console.log(`${SWARM} libtorrent nodes on 127.0.0.1; ${RECORDS} mutable records put by chat; read-only clients get every record, interleaved, ${PASSES} passes. Times in ms, median / p95; ratios of medians to libtorrent's.\n`);
    console.log("| pass | client | first valid item | ÷ libtorrent | end of lookup (libtorrent: authoritative) | ÷ libtorrent | gets sent (median) | success |");
    console.log("|--:|---|--:|--:|--:|--:|--:|--:|");
    for (const r of rows) console.log(r);
    return 0;
  } finally {
    clearTimeout(deadline);
    for (const f of cleanup.reverse()) f();
  }
}

function libtorrentVersion(python: string): string {
  const r = spawnSync(python, ["-c", "import libtorrent; print(libtorrent.__version__)"], { encoding: "utf8" });
  return r.stdout.trim();
}

process.exitCode = await main();
