// The harness of `npm run attack`: a real `chat listen` process as the target (its own UDP socket,
// announced on an in-process loopback swarm), its resident size sampled from /proc, endpoints on any
// loopback IP for attackers and legitimate senders, and the row each attack reports. Loopback
// only: the whole 127.0.0.0/8 stands in for distinct hosts (127.0.1.x and 127.0.2.x are different
// /24 groups to the target). Linux only (/proc).
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateIdentity, parsePublicKey, type Identity } from "../../src/crypto/identity.ts";
import { identityToFile, writeIdentityFile } from "../../src/commands/_identity.ts";
import { createTestnet, type Testnet } from "../../src/dht/testnet.ts";
import { UdpTransport } from "../../src/dht/udp.ts";
import { type Address, SessionEndpoint } from "../../src/wire/endpoint.ts";

export const isDeno = "Deno" in globalThis;

export interface Target {
  publicKey: Uint8Array;
  address: Address;
  pid: number;
  /** Message lines printed so far (when `read` is true), by sender key (z-base-32). */
  printedFrom: Map<string, number>;
  printedIds: Set<string>;
  rss(): number;
  /** Stops reading stdout (a reader that does not read) or starts again. */
  pause(): void;
  resume(): void;
  kill(): Promise<void>;
}

/** Starts `chat listen` on this runtime with a fresh identity, announced on a 4-node swarm. */
export async function startTarget(): Promise<Target & { close(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), "chat-attack-"));
  const identity = generateIdentity();
  const file = join(dir, "target.json");
  writeIdentityFile(file, await identityToFile(identity));
  const swarm: Testnet = await createTestnet(4);
  const [cmd, pre] = isDeno ? ["node_modules/.bin/deno", ["run", "-A", "src/main.ts"]] : [process.execPath, ["bin/chat.mjs"]];
  const child: ChildProcess = spawn(cmd, [...pre, "listen", "--identity", file], {
    env: { ...process.env, CHAT_BOOTSTRAP: swarm.bootstrap.map((a) => `${a.host}:${a.port}`).join(",") },
    stdio: ["ignore", "pipe", "inherit"],
    detached: true, // its own process group, killed as a whole
  });
  const printedFrom = new Map<string, number>();
  const printedIds = new Set<string>();
  let rest = "";
  let listening: { address: string; publicKey: string } | undefined;
  let onReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  child.stdout!.on("data", (d: Buffer) => {
    // Whole lines only: a kill may cut the line being written (whose message was not acked).
    const lines = (rest + d.toString("utf8")).split("\n");
    rest = lines.pop()!;
    for (const line of lines) {
      const j = JSON.parse(line);
      if (j.type === "listening") listening = j;
      if (j.type === "announced") onReady();
      if (j.type === "message") {
        printedFrom.set(j.from, (printedFrom.get(j.from) ?? 0) + 1);
        printedIds.add(j.id);
      }
    }
  });
  const timeout = setTimeout(() => child.kill("SIGKILL"), 30_000);
  await Promise.race([ready, new Promise((resolve) => child.on("close", resolve))]);
  clearTimeout(timeout);
  if (!listening) throw new Error("chat listen did not start");
  const port = Number(listening.address.split(":").at(-1));
  const pid = child.pid!;
  const exited = new Promise<void>((resolve) => child.on("close", () => resolve()));
  const kill = async () => {
    try {
      process.kill(-pid, "SIGKILL");
    } catch { /* already gone */ }
    child.stdout!.resume();
    await exited;
  };
  return {
    publicKey: parsePublicKey(listening.publicKey),
    address: { host: "127.0.0.1", port },
    pid,
    printedFrom,
    printedIds,
    rss: () => rssMB(pid),
    pause: () => child.stdout!.pause(),
    resume: () => child.stdout!.resume(),
    kill,
    close: async () => {
      await kill();
      swarm.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function rssMB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

export interface Bound {
  identity: Identity;
  endpoint: SessionEndpoint;
  socket: UdpTransport;
  close(): void;
}

/** A session endpoint with `identity` on a UDP socket bound to `host` (any loopback IP). */
export async function endpointOn(host: string, identity = generateIdentity()): Promise<Bound> {
  const socket = await UdpTransport.bind({ host });
  const endpoint = new SessionEndpoint({ identity, send: (buf, to) => socket.send(buf, to) });
  socket.onMessage((buf, from) => endpoint.receive(buf, from));
  return { identity, endpoint, socket, close: () => (endpoint.close(), socket.close()) };
}

/**
 * A legitimate user at `host`: every `everyMs`, a new sender (as `chat send` is: a fresh process,
 * socket and session) sends one message of `bytes` to the target. Stop with `stop()`.
 */
export function legitimate(host: string, target: Target, everyMs = 10_000, bytes = 20) {
  let tried = 0, delivered = 0, stopped = false;
  const rtts: number[] = [];
  const once = async () => {
    const sender = await endpointOn(host);
    tried++;
    try {
      const d = await sender.endpoint.sendMessage(target.publicKey, target.address, "l".repeat(bytes));
      delivered++;
      rtts.push(d.rttMs);
    } catch { /* counted as not delivered */ }
    sender.close();
  };
  const loop = async () => {
    while (!stopped) {
      const started = Date.now();
      await once();
      await sleep(Math.max(0, everyMs - (Date.now() - started)));
    }
  };
  const running = loop();
  return {
    async stop() {
      stopped = true;
      await running;
      return { tried, delivered, rtts };
    },
  };
}

/** Samples the target's RSS every second until stopped: idle (first sample) and peak. */
export function sampler(target: Target) {
  const idle = target.rss();
  let peak = idle;
  const timer = setInterval(() => (peak = Math.max(peak, target.rss())), 1000);
  return { stop: () => (clearInterval(timer), { idle, peak }) };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface Row {
  attack: string;
  seconds: number;
  volume: string;
  legit: string;
  rss: string;
  note: string;
}

export function row(r: Row): string {
  return `| ${r.attack} | ${r.seconds} s | ${r.volume} | ${r.legit} | ${r.rss} | ${r.note} |`;
}
