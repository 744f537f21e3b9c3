// Bots and replies: the README's echo bot (TypeScript) and the bash bot answer `chat send --wait`,
// and survive senders that leave; two processes on one identity are reported; a failed send says
// how long it took.
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { createTestnet, type Testnet } from "../src/dht/testnet.ts";
import { chatCommand, finished, isDeno, jsonLine, killGroup, runChat, startChat, textLine } from "./_cli.ts";

const bots = suite("cli: bots, replies, identity in use, send timeouts");
const dir = mkdtempSync(join(tmpdir(), "chat-bots-"));
let net: Testnet;
let env: Record<string, string>;
const started: ChildProcess[] = [];
// Also when the run dies before `after`: no bot outlives the suite.
process.on("exit", () => started.forEach(killGroup));
let bob: { file: string; key: string };

async function identity(name: string) {
  const file = join(dir, `${name}.json`);
  const r = await runChat(["keygen", "--out", file]);
  return { file, key: JSON.parse(r.stdout).publicKey as string };
}

/** Spawned as its own process group, so a shell pipeline dies whole. */
function start(cmd: string, args: string[]): ChildProcess {
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"], detached: true });
  started.push(child);
  return child;
}

const replies = (stdout: string) => stdout.trim().split("\n").map((l) => JSON.parse(l)).filter((j) => j.type === "message");

bots.before(async () => {
  net = await createTestnet(12);
  env = { CHAT_BOOTSTRAP: net.bootstrap.map((a) => `${a.host}:${a.port}`).join(",") };
  bob = await identity("bob");
});

bots.after(() => {
  for (const c of started) killGroup(c);
  net.destroy();
  rmSync(dir, { recursive: true, force: true });
});

bots("the README echo bot answers chat send --wait, prints senders as text, survives a sender that left", async () => {
  const bot = isDeno ? start("node_modules/.bin/deno", ["run", "-A", "examples/echo_bot.ts"]) : start("node", ["dist/examples/echo_bot.js"]);
  let err = "";
  bot.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const key = (await textLine(bot, (l) => l.startsWith("talk to me:")).catch((e: Error) => assert.unreachable(`${e.message}; stderr: ${err}`)) as string).split(" ").at(-1)!;
  // This sender closes its session once acked and never announced: the bot's reply fails, the bot goes on.
  const heard = textLine(bot, (l) => l === `${bob.key}: hi`);
  const gone = await runChat(["send", key, "hi", "--identity", bob.file], { env });
  assert.is(gone.code, 0, gone.stderr);
  await heard;
  const ask = await runChat(["send", key, "ping", "--identity", bob.file, "--wait", "3"], { env, timeoutMs: 20_000 });
  assert.is(ask.code, 0, ask.stderr);
  const echo = replies(ask.stdout).find((m) => m.text === "echo: ping");
  assert.ok(echo, ask.stdout);
  assert.is(echo.from, key);
  assert.is(bot.exitCode, null, "the bot is still running");
});

bots("the bash echo bot answers chat send --wait", async () => {
  // `chat` on PATH runs this runtime's CLI.
  const bin = join(dir, "bin");
  const [cmd, pre] = chatCommand();
  const root = resolve(".");
  rmSync(bin, { recursive: true, force: true });
  (await import("node:fs")).mkdirSync(bin);
  writeFileSync(join(bin, "chat"), `#!/bin/sh\ncd '${root}' && exec ${[cmd, ...pre].map((w) => `'${w}'`).join(" ")} "$@"\n`);
  chmodSync(join(bin, "chat"), 0o755);
  const botId = await identity("bashbot");
  const bot = spawn("bash", [resolve("examples/echo_bot.sh"), botId.file], {
    env: { ...process.env, ...env, PATH: `${bin}:${process.env["PATH"]}` }, stdio: ["ignore", "pipe", "pipe"], detached: true,
  });
  started.push(bot);
  // The bot is up once its record is in the DHT.
  for (let i = 0; i < 100; i++) {
    if ((await runChat(["lookup", botId.key], { env })).code === 0) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const ask = await runChat(["send", botId.key, "hello bash", "--identity", bob.file, "--wait", "5"], { env, timeoutMs: 20_000 });
  assert.is(ask.code, 0, ask.stderr);
  assert.ok(replies(ask.stdout).some((m) => m.text === "echo: hello bash" && m.from === botId.key), ask.stdout);
  killGroup(bot);
});

bots("a second listen on the same identity warns that the identity is in use", async () => {
  const carol = await identity("carol");
  const first = startChat(["listen", "--identity", carol.file], { env });
  first.stdin!.end();
  started.push(first);
  await jsonLine(first, (j) => j["type"] === "announced");
  const second = startChat(["listen", "--identity", carol.file], { env });
  second.stdin!.end();
  started.push(second);
  const warning = await jsonLine(second, (j) => j["type"] === "warning");
  assert.is(warning["code"], "IDENTITY_IN_USE");
  assert.is((warning["addresses"] as string[]).length, 1);
  for (const c of [first, second]) {
    const done = finished(c, 10_000);
    c.kill("SIGTERM");
    await done;
  }
});

bots("a send to a record of dead addresses fails with the time it really took", async () => {
  const dave = await identity("dave");
  // Two addresses nobody answers on (ports of a DHT node: it drops session packets).
  const dead = net.bootstrap.slice(0, 2).map((a) => `127.0.0.1:${a.port}`);
  const ann = await runChat(["announce", "--identity", dave.file, "--address", dead[0]!, "--address", dead[1]!], { env });
  assert.is(ann.code, 0, ann.stderr);
  const t0 = Date.now();
  const bounded = await runChat(["send", dave.key, "hi", "--identity", bob.file, "--timeout", "2500"], { env });
  const ms = Date.now() - t0;
  assert.is(bounded.code, 1, bounded.stderr);
  const failed = JSON.parse(bounded.stdout);
  assert.is(failed.reason, "TIMEOUT");
  assert.match(failed.message, "2500 ms");
  assert.ok(failed.ms >= 2500 && failed.ms < ms, `${failed.ms} ms`);
  if (isDeno) return; // The unbounded case takes 10 s: once is enough.
  const slow = await runChat(["send", dave.key, "hi", "--identity", bob.file], { env, timeoutMs: 40_000 });
  assert.is(slow.code, 1, slow.stderr);
  const report = JSON.parse(slow.stdout);
  assert.is(report.reason, "HANDSHAKE_TIMEOUT");
  const said = Number(/gave up after ([\d.]+) s/.exec(report.message)?.[1]);
  assert.ok(Math.abs(said * 1000 - report.ms) < 100, report.message);
  // One handshake goes to both addresses at once (docs/PROTOCOL.md §8): 10 s in all, as it says.
  assert.ok(report.ms >= 10_000 && report.ms < 15_000, `both addresses at once: ${report.ms} ms`);
});

bots.run();
