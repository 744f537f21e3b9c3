// The DHT commands (swarm, node, dht) run in-process, their stdout captured.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ed25519 } from "@noble/curves/ed25519.js";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { run as dht } from "../src/commands/dht.ts";
import { run as nodeCommand } from "../src/commands/node.ts";
import { run as swarm } from "../src/commands/swarm.ts";
import { formatPublicKey } from "../src/crypto/identity.ts";
import { ChatError } from "../src/errors.ts";

const test = suite("dht commands");
const dir = mkdtempSync(join(tmpdir(), "chat-dht-"));
let lines: string[] = [];
let bootstrap = "";
let swarmDone: Promise<unknown>;

/** Collects what `print` writes while `fn` runs (stdout only; stderr passes through). */
async function capture<T>(fn: () => Promise<T>): Promise<{ result: T; out: Record<string, unknown>[] }> {
  const start = lines.length;
  const result = await fn();
  return { result, out: lines.slice(start).map((l) => JSON.parse(l)) };
}

async function until(pred: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 10));
  }
}

const write = process.stdout.write;
test.before(async () => {
  process.stdout.write = ((chunk: string) => {
    for (const l of String(chunk).split("\n")) if (l) lines.push(l);
    return true;
  }) as typeof process.stdout.write;
  swarmDone = swarm([], { nodes: 12 });
  await until(() => lines.some((l) => l.includes('"swarm"')));
  const line = JSON.parse(lines.find((l) => l.includes('"swarm"'))!);
  assert.is(line.nodes, 12);
  assert.is(line.bootstrap.length, 4);
  bootstrap = line.bootstrap.join(",");
});

test.after(async () => {
  process.emit("SIGINT", "SIGINT");
  await swarmDone;
  process.stdout.write = write;
  rmSync(dir, { recursive: true, force: true });
  lines = [];
});

test("dht put --immutable, then dht get by target", async () => {
  const put = await capture(() => dht(["put", "hello swarm"], { bootstrap, immutable: true }));
  assert.is(put.result, 0);
  const target = put.out[0]!["target"] as string;
  assert.is((put.out[0]!["stored"] as unknown[]).length, 8);
  const get = await capture(() => dht(["get", target], { bootstrap }));
  assert.is(get.result, 0);
  assert.is(get.out[0]!["found"], true);
  assert.is(get.out[0]!["value"], "hello swarm");
  assert.is(get.out[0]!["v"], Buffer.from("11:hello swarm").toString("hex"));
});

test("dht put signed by an identity file (with salt), then dht get by public key", async () => {
  const seed = new Uint8Array(32).fill(42);
  const publicKey = formatPublicKey(ed25519.getPublicKey(seed));
  const file = join(dir, "id.json");
  writeFileSync(file, JSON.stringify({ type: "chat-identity", version: 1, publicKey, seed: Buffer.from(seed).toString("hex") }));
  const put = await capture(() => dht(["put", "signed value"], { bootstrap, identity: file, salt: "topic", seq: 5 }));
  assert.is(put.result, 0);
  assert.is(put.out[0]!["seq"], 5);
  const get = await capture(() => dht(["get", publicKey], { bootstrap, salt: "topic" }));
  assert.equal([get.out[0]!["found"], get.out[0]!["value"], get.out[0]!["seq"]], [true, "signed value", "5"]);
  const unsalted = await capture(() => dht(["get", publicKey], { bootstrap }));
  assert.is(unsalted.result, 1, "another target without the salt: not found");
  assert.is(unsalted.out[0]!["found"], false);
});

test("dht find-node, dht ping, and the state directory", async () => {
  const stateDir = join(dir, "state");
  const found = await capture(() => dht(["find-node"], { bootstrap, stateDir }));
  assert.is(found.result, 0);
  const nodes = found.out[0]!["nodes"] as { id: string; address: string }[];
  assert.is(nodes.length, 8);
  const saved = JSON.parse(readFileSync(join(stateDir, "dht.json"), "utf8"));
  assert.ok(saved.nodes.length >= 8, "the routing table was saved");
  const ping = await capture(() => dht(["ping", nodes[0]!.address], { bootstrap }));
  assert.is(ping.out[0]!["id"], nodes[0]!.id);
  const again = await capture(() => dht(["find-node"], { stateDir, bootstrap: "127.0.0.1:9" }));
  assert.is(again.result, 0, "the saved table is enough to join");
});

test("bad input is exit 2; a dead bootstrap is exit 3", async () => {
  const code = async (p: Promise<unknown>) => ((await p.catch((e) => e)) as ChatError).exitCode;
  assert.is(await code(dht(["frobnicate"], { bootstrap })), 2);
  assert.is(await code(dht(["get", "not-a-key"], { bootstrap })), 2);
  assert.is(await code(dht(["put", "x"], { bootstrap, identity: join(dir, "missing.json") })), 2);
  assert.is(await code(dht(["ping", "nohost"], { bootstrap })), 2);
  assert.is(await code(dht(["get", "00".repeat(20)], { bootstrap: "127.0.0.1:9" })), 3);
});

test("chat node: listening, bootstrap and stats events, closed on SIGINT", async () => {
  const stateDir = join(dir, "node-state");
  const start = lines.length;
  const done = nodeCommand([], { bootstrap, stats: 0.05, stateDir });
  await until(() => lines.slice(start).some((l) => l.includes('"stats"')));
  process.emit("SIGINT", "SIGINT");
  await done;
  const types = lines.slice(start).map((l) => JSON.parse(l).type);
  assert.equal(types.slice(0, 3), ["listening", "bootstrap", "stats"]);
  assert.is(types.at(-1), "closed");
  assert.ok(JSON.parse(readFileSync(join(stateDir, "dht.json"), "utf8")).nodes.length >= 8);
});

test.run();
