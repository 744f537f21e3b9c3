// Cold start of the CLI as a user runs it (issue 11): `npm pack`, `npm install` of the tarball in an
// empty directory, then wall time of whole processes, on Node (`node_modules/.bin/chat`) and on Deno
// (`deno run -A node_modules/mainline-chat/bin/chat.mjs`), against a listener in this process:
//   - `echo hi | chat send KEY --address HOST:PORT` (no lookup), target ≤ 200 ms on Node, ≤ 120 ms on Deno;
//   - `echo hi | chat send KEY` with its lookup on a loopback swarm;
//   - `chat --version`.
// CHAT_BENCH_BEFORE=DIR packs the built checkout in DIR as well and interleaves its runs with these
// (every round runs each cell once, in a random order), so both see the same load. Knobs: CHAT_BENCH_COLD_RUNS (21), CHAT_BENCH_NODES (20).
// Run: `node dist/scripts/bench/coldstart.bench.js` or `deno run -A scripts/bench/coldstart.bench.ts`.
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { identityToFile, writeIdentityFile } from "../../src/commands/_identity.ts";
import { generateIdentity } from "../../src/crypto/identity.ts";
import { createTestnet } from "../../src/dht/testnet.ts";
import { Peer } from "../../src/peer.ts";
import { log, pct } from "./_common.ts";

const RUNS = Number(process.env["CHAT_BENCH_COLD_RUNS"] ?? 21);
const NODES = Number(process.env["CHAT_BENCH_NODES"] ?? 20);
const BEFORE = process.env["CHAT_BENCH_BEFORE"];
const HOST = "127.0.0.1";
const TARGET: Record<Runtime, number> = { Node: 200, Deno: 120 };
const DENO = resolve("node_modules/.bin/deno");
const deno = (globalThis as { Deno?: { version: { deno: string } } }).Deno;

type Runtime = "Node" | "Deno";
type Case = "send --address" | "send (lookup)" | "--version";
const CASES: Case[] = ["send --address", "send (lookup)", "--version"];

/** Packs the built checkout in `tree` and installs the tarball in a fresh app directory under `dir`. */
function install(tree: string, dir: string, label: string): string {
  const run = (cmd: string, args: string[], cwd: string) => {
    const r = spawnSync(cmd, args, { cwd, encoding: "utf8", timeout: 300_000 });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} in ${cwd}: ${r.error?.message ?? r.stderr}`);
    return r.stdout;
  };
  const out = join(dir, label);
  const app = join(out, "app");
  mkdirSync(app, { recursive: true });
  // --ignore-scripts: `prepare` would rebuild; the bench measures what was built.
  const packed = JSON.parse(run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", out], tree)) as { filename: string }[];
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "cold-app", private: true, type: "module" }));
  run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", join(out, packed[0]!.filename)], app);
  return app;
}

/** The argv of `chat` installed in `app`, on a runtime. */
function chatIn(app: string, runtime: Runtime): string[] {
  const name = (JSON.parse(readFileSync("package.json", "utf8")) as { name: string }).name;
  return runtime === "Node" ? [join(app, "node_modules/.bin/chat")] : [DENO, "run", "-A", join(app, "node_modules", name, "bin/chat.mjs")];
}

function shuffled<T>(xs: T[]): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Wall time of one process from spawn to exit (async: this process serves the listener meanwhile). */
function timed(argv: string[], stdin: string, env: Record<string, string>): Promise<{ ms: number; code: number | null; out: string; err: string }> {
  const t = performance.now();
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, ...env } });
  let out = "", err = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  child.stdin.end(stdin);
  return new Promise((resolve) => child.on("close", (code) => {
    clearTimeout(timer);
    resolve({ ms: performance.now() - t, code, out, err });
  }));
}

const dir = mkdtempSync(join(tmpdir(), "chat-cold-"));
const builds: [string, string][] = [];
const net = await createTestnet(NODES, { host: HOST });
const listener = await Peer.open({ identity: generateIdentity(), host: HOST, bootstrap: net.bootstrap });
try {
  log("installing the package from its tarball");
  if (BEFORE) builds.push(["before", install(resolve(BEFORE), dir, "before")]);
  builds.push(["now", install(resolve("."), dir, "now")]);

  await listener.bootstrap();
  if (!(await listener.announce({ addresses: [listener.address()] })).stored) throw new Error("no node stored the listener's record");
  let received = 0;
  void (async () => {
    for await (const _ of listener.messages()) received++;
  })();
  const file = join(dir, "sender.json");
  writeIdentityFile(file, await identityToFile(generateIdentity()));
  const bootstrap = net.bootstrap.map((a) => `${a.host}:${a.port}`).join(",");
  const env = { CHAT_STATE_DIR: join(dir, "state"), CHAT_IDENTITY: file, CHAT_BOOTSTRAP: bootstrap, NO_COLOR: "1" };
  const args: Record<Case, string[]> = {
    "send --address": ["send", listener.publicKey, "--address", `${HOST}:${listener.address().port}`],
    "send (lookup)": ["send", listener.publicKey],
    "--version": ["--version"],
  };

  const samples = new Map<string, number[]>();
  const runtimes: Runtime[] = ["Node", "Deno"];
  const runs = builds.flatMap(([label, app]) => runtimes.flatMap((runtime) => CASES.map((c) => ({ label, app, runtime, c }))));
  // Round 0 fills the disk cache and Deno's module cache; it is not counted. Each round runs every
  // cell once, in a new order: a process does not always follow the same one (and its aftermath).
  for (let round = 0; round <= RUNS; round++) {
    if (round % 5 === 0) log(`round ${round} of ${RUNS}`);
    for (const { label, app, runtime, c } of shuffled(runs)) {
      const before = received;
      const r = await timed([...chatIn(app, runtime), ...args[c]], c === "--version" ? "" : "hi\n", env);
      if (r.code !== 0 || (c !== "--version" && !r.out.includes('"delivered"'))) {
        throw new Error(`${label} ${runtime} chat ${c} exited ${r.code}: ${(r.err.trim() || r.out.trim()).split("\n")[0]}`);
      }
      if (c !== "--version") {
        await new Promise((resolve) => setTimeout(resolve, 20));
        if (received !== before + 1) throw new Error(`${label} ${runtime} chat ${c} reported delivery, but the listener got nothing`);
      }
      if (round === 0) continue;
      const key = `${label} ${runtime} ${c}`;
      samples.set(key, [...(samples.get(key) ?? []), r.ms]);
    }
  }

  const cell = (key: string) => {
    const s = samples.get(key)!;
    return `${Math.round(pct(s, 0.5))} / ${Math.round(pct(s, 0.95))} ms`;
  };
  const med = (key: string) => pct(samples.get(key)!, 0.5);
  console.log(`${deno ? `deno ${deno.version.deno}` : `node ${process.version}`} runs the listener and a ${NODES}-node loopback swarm; Node ${spawnSync("node", ["--version"], { encoding: "utf8" }).stdout.trim()}, ${spawnSync(DENO, ["--version"], { encoding: "utf8" }).stdout.split("\n")[0]}\n`);
  console.log(`#### Cold start of the installed CLI: wall time of the whole process, median / p95 of ${RUNS} runs${BEFORE ? ", builds interleaved: each round runs every cell once, in a random order" : ""}\n`);
  console.log(`| runtime | build | ${CASES.map((c) => `\`chat ${c}\``).join(" | ")} | target (send --address) |${BEFORE ? " now ÷ before (send --address / lookup / --version) |" : ""}`);
  console.log(`|---|---|${CASES.map(() => "--:|").join("")}---|${BEFORE ? "--:|" : ""}`);
  for (const runtime of runtimes) {
    for (const [label] of builds) {
      const k = (c: Case) => `${label} ${runtime} ${c}`;
      const met = med(k("send --address")) <= TARGET[runtime] ? "met" : "not met";
      const ratio = BEFORE && label === "now" ? ` ${CASES.map((c) => (med(k(c)) / med(`before ${runtime} ${c}`)).toFixed(2)).join(" / ")} |` : BEFORE ? " |" : "";
      console.log(`| ${runtime} | ${label} | ${CASES.map((c) => cell(k(c))).join(" | ")} | ≤ ${TARGET[runtime]} ms: ${met} |${ratio}`);
    }
  }
} finally {
  listener.close();
  net.destroy();
  rmSync(dir, { recursive: true, force: true });
}
