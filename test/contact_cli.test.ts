// `chat announce` and `chat lookup` end to end, as separate processes on loopback: against a
// `chat swarm` process, and against a swarm inside this test process. Exit codes of the contract.
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { createTestnet, type Testnet } from "../src/dht/testnet.ts";
import { UdpTransport } from "../src/dht/udp.ts";
import { errorOf, finished, isDeno, runChat, startChat } from "./_cli.ts";

const cli = suite("contact: chat announce and chat lookup, as processes");
const dir = mkdtempSync(join(tmpdir(), "chat-contact-"));
let swarm: Testnet;
let bootstrap: string;
let me: { file: string; publicKey: string };

async function keygen(name: string): Promise<{ file: string; publicKey: string }> {
  const file = join(dir, `${name}.json`);
  const r = await runChat(["keygen", "--out", file]);
  assert.is(r.code, 0, r.stderr);
  return { file, publicKey: JSON.parse(r.stdout).publicKey };
}

const json = (stdout: string) => JSON.parse(stdout.trim());

/**
 * SIGTERM by pid: Deno's node:child_process reports a child it was asked to kill() as killed by
 * the signal (code null) even when the child handled it and exited 0 (Deno 2.9, after
 * denoland/deno#32081); signalling by pid leaves the real exit status visible.
 */
function terminate(child: ChildProcess): void {
  if (child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(child.pid!, "SIGTERM");
  } catch { /* it exited meanwhile */ }
}

/** The first `n` lines a running process prints; fails if it exits first or `timeoutMs` pass. */
function readLines(child: ChildProcess, n: number, timeoutMs = 20_000): Promise<string[]> {
  const lines: string[] = [];
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  const reader = createInterface({ input: child.stdout! });
  return new Promise((resolve, reject) => {
    const fail = (why: string) => {
      clearTimeout(timer);
      reader.close();
      reject(new Error(`${why} after ${lines.length} of ${n} lines: ${stderr}`));
    };
    const timer = setTimeout(() => fail(`No output within ${timeoutMs} ms`), timeoutMs);
    child.once("exit", (code) => fail(`Exited with ${code}`));
    reader.on("line", (line) => {
      lines.push(line);
      if (lines.length < n) return;
      clearTimeout(timer);
      child.removeAllListeners("exit");
      reader.close();
      resolve(lines);
    });
  });
}

cli.before(async () => {
  swarm = await createTestnet(16);
  bootstrap = swarm.bootstrap.map((a) => `${a.host}:${a.port}`).join(",");
  me = await keygen("me");
});
cli.after(() => {
  swarm.destroy();
  rmSync(dir, { recursive: true, force: true });
});

cli("chat swarm &, chat announce in one process, chat lookup in another", async () => {
  const swarmProcess = startChat(["swarm", "--nodes", "12"]);
  const closed = finished(swarmProcess, 30_000);
  try {
    const [line] = await readLines(swarmProcess, 1);
    const ready = JSON.parse(line!);
    assert.is(ready.type, "swarm");
    const list = (ready.bootstrap as string[]).join(",");
    const announced = await runChat(["announce", "--identity", me.file, "--bootstrap", list, "--address", "203.0.113.7:6881", "--address", "[2001:db8::7]:443"]);
    assert.is(announced.code, 0, announced.stderr);
    const a = json(announced.stdout);
    assert.is(a.type, "announced");
    assert.is(a.publicKey, me.publicKey);
    assert.ok(a.stored >= 1 && a.stored <= 8, `stored ${a.stored}`);
    assert.match(a.target, /^[0-9a-f]{40}$/);
    assert.is(a.period, Math.floor(a.seq / 3600));
    const found = await runChat(["lookup", me.publicKey], { env: { CHAT_BOOTSTRAP: list } });
    assert.is(found.code, 0, found.stderr);
    const r = json(found.stdout);
    assert.equal(
      { found: r.found, publicKey: r.publicKey, addresses: r.addresses, announcedAt: r.announcedAt, seq: r.seq, period: r.period },
      { found: true, publicKey: me.publicKey, addresses: ["203.0.113.7:6881", "[2001:db8::7]:443"], announcedAt: a.announcedAt, seq: a.seq, period: a.period },
    );
    assert.ok(r.queried >= 1 && r.ms >= 0);
    assert.is(found.stderr, "", "nothing on stderr on success");
  } finally {
    terminate(swarmProcess);
    const ended = await closed;
    assert.is(ended.code, 0, `swarm exits cleanly on SIGTERM: ${ended.stderr}`);
  }
});

cli("announce --every republishes until SIGTERM, naming its own socket by default", async () => {
  const other = await keygen("every");
  const child = startChat(["announce", "--identity", other.file, "--bootstrap", bootstrap, "--every", "1s"]);
  const closed = finished(child, 30_000);
  let lines: { type: string; addresses: string[]; seq: number; stored: number }[];
  try {
    lines = (await readLines(child, 2)).map((line) => JSON.parse(line));
  } finally {
    terminate(child);
  }
  const ended = await closed;
  assert.is(ended.code, 0, ended.stderr);
  assert.ok(lines.every((l) => l.type === "announced" && l.stored >= 1));
  assert.ok(lines[1]!.seq > lines[0]!.seq, "a later seq each time");
  // Bound to every interface, seen by the swarm on loopback: the BEP 42 view with our port.
  assert.match(lines[0]!.addresses[0]!, /^127\.0\.0\.1:\d+$/);
  const found = await runChat(["lookup", other.publicKey, "--bootstrap", bootstrap]);
  assert.is(found.code, 0, found.stderr);
  assert.equal(json(found.stdout).addresses, lines[1]!.addresses);
});

cli("a key that never announced: {found:false} and exit 1", async () => {
  const stranger = await keygen("stranger");
  const r = await runChat(["lookup", stranger.publicKey, "--bootstrap", bootstrap]);
  assert.is(r.code, 1, r.stderr);
  const out = json(r.stdout);
  assert.is(out.found, false);
  assert.is(out.publicKey, stranger.publicKey);
  assert.is(out.periods.length, 3);
  assert.match(r.stderr, /hint:/);
});

cli("bad input exits 2 before touching the network; no bootstrap node exits 3", async () => {
  const closed = await UdpTransport.bind({ host: "127.0.0.1" });
  const dead = `127.0.0.1:${closed.address().port}`;
  closed.close();
  const cases: [string[], number, string][] = [
    [["lookup", "not/a/key", "--bootstrap", dead], 2, "BAD_PUBLIC_KEY"],
    [["lookup", "nobody", "--bootstrap", dead], 2, "UNKNOWN_CONTACT"],
    [["lookup", "f".repeat(64), "--bootstrap", dead], 2, "BAD_PUBLIC_KEY"],
    [["announce", "--identity", me.file, "--address", "example.com:80", "--bootstrap", dead], 2, "BAD_ADDRESS"],
    [["announce", "--identity", me.file, "--address", "192.0.2.1", "--bootstrap", dead], 2, "BAD_ADDRESS"],
    [["announce", "--identity", me.file, "--every", "soon", "--bootstrap", dead], 2, "BAD_DURATION"],
    [["announce", "--identity", me.file, "--every", "10ms", "--bootstrap", dead], 2, "BAD_DURATION"],
    [["announce", "--identity", join(dir, "missing.json"), "--bootstrap", dead], 2, "CANNOT_READ"],
    [["lookup", me.publicKey, "--bootstrap", dead], 3, "NO_NETWORK"],
  ];
  for (const [args, code, error] of cases) {
    const r = await runChat(args);
    assert.is(r.code, code, `${args.join(" ")}: ${r.stderr}`);
    assert.is(r.stdout, "", "nothing on stdout");
    assert.is(errorOf(r).code, error);
  }
});

cli("announce exits 1 when no node stores the record", async () => {
  const full = await createTestnet(6, { limits: { items: 0 } });
  try {
    const list = full.bootstrap.map((a) => `${a.host}:${a.port}`).join(",");
    const r = await runChat(["announce", "--identity", me.file, "--bootstrap", list, "--address", "192.0.2.1:1"]);
    assert.is(r.code, 1, r.stderr);
    assert.is(json(r.stdout).stored, 0);
    assert.is(errorOf(r).code, "NOT_STORED");
  } finally {
    full.destroy();
  }
});

cli("a record announced from one runtime is found from the other", async () => {
  const other = await keygen("cross");
  const [from, to] = isDeno ? (["deno", "node"] as const) : (["node", "deno"] as const);
  const a = await runChat(["announce", "--identity", other.file, "--bootstrap", bootstrap, "--address", "192.0.2.44:4444"], { runtime: from });
  assert.is(a.code, 0, a.stderr);
  const r = await runChat(["lookup", other.publicKey, "--bootstrap", bootstrap], { runtime: to });
  assert.is(r.code, 0, r.stderr);
  assert.equal(json(r.stdout).addresses, ["192.0.2.44:4444"]);
});

cli.run();
