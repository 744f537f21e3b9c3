#!/usr/bin/env node
// Soak test of the two echo bots (examples/echo_bot.ts and examples/echo_bot.sh), not run in CI:
// for --minutes (default 60) a stream of real `chat send --wait` processes from --senders
// identities (default 12) talks to both bots; --vanish (default 25 %) of them are SIGKILLed
// mid-conversation. Every 30 s one NDJSON sample: messages, echoes, and each bot's RSS. Ends with
// a summary; exits 1 if a bot died. Needs `npm run build` first (it runs dist/), bash and jq.
//   node scripts/soak.mjs --minutes 5
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { createTestnet } from "../dist/src/dht/testnet.js";

const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "60" },
    senders: { type: "string", default: "12" },
    vanish: { type: "string", default: "25" },
    every: { type: "string", default: "700" },
  },
});
const minutes = Number(values.minutes), senders = Number(values.senders), vanish = Number(values.vanish) / 100;
const everyMs = Number(values.every);
const root = resolve(".");
const dir = mkdtempSync(join(tmpdir(), "chat-soak-"));
const chat = ["node", join(root, "bin/chat.mjs")];
const net = await createTestnet(20);
const env = { ...process.env, CHAT_BOOTSTRAP: net.bootstrap.map((a) => `${a.host}:${a.port}`).join(","), CHAT_STATE_DIR: join(dir, "state") };
const groups = [];
function killAll() {
  for (const g of groups) {
    try {
      process.kill(-g.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}
// Interrupted or crashed: no bot outlives the script.
process.on("exit", killAll);
process.on("SIGINT", () => process.exit(130));

const sh = (args) => JSON.parse(spawnSync(chat[0], [...chat.slice(1), ...args], { env, encoding: "utf8" }).stdout);
const identity = (name) => {
  const file = join(dir, `${name}.json`);
  return { file, key: sh(["keygen", "--out", file]).publicKey };
};
/** Each bot is its own process group: a pipeline is measured and killed whole. */
function startGroup(cmd, args, extraEnv = {}) {
  const child = spawn(cmd, args, { env: { ...env, ...extraEnv }, stdio: ["ignore", "pipe", "pipe"], detached: true });
  child.stdout.resume();
  let err = "";
  child.stderr.on("data", (d) => (err = (err + d).slice(-2000)));
  child.on("exit", (code, signal) => console.error(`${cmd} ${args.join(" ")} exited (${signal ?? code}): ${err}`));
  groups.push(child);
  return child;
}
/** Resident memory of every process in a group, in KiB, and that of its `chat listen` if any. */
function rss(pgid) {
  const out = spawnSync("ps", ["-o", "rss=,args=", "-g", String(pgid)], { encoding: "utf8" }).stdout;
  let total = 0, listen = 0;
  for (const line of out.trim().split("\n").filter(Boolean)) {
    const [kib, ...args] = line.trim().split(/\s+/);
    total += Number(kib);
    if (args.join(" ").includes(" listen ")) listen = Number(kib);
  }
  return { total, listen };
}

// Identities first: spawnSync blocks this process, which hosts the DHT the bots bootstrap from.
const bashId = identity("bashbot");
const people = Array.from({ length: senders }, (_, i) => identity(`sender${i}`));

// The TypeScript bot prints its key; the bash bot's key is that of its identity file.
const tsBot = startGroup("node", [join(root, "dist/examples/echo_bot.js")]);
const tsKey = await new Promise((resolveKey) => {
  let buf = "";
  const onData = (d) => {
    buf += d;
    const m = /talk to me: (\S+)/.exec(buf);
    if (m) {
      tsBot.stdout.off("data", onData);
      resolveKey(m[1]);
    }
  };
  tsBot.stdout.on("data", onData);
});
const bin = join(dir, "bin");
mkdirSync(bin);
writeFileSync(join(bin, "chat"), `#!/bin/sh\nexec ${chat.map((w) => `'${w}'`).join(" ")} "$@"\n`);
chmodSync(join(bin, "chat"), 0o755);
const bashBot = startGroup("bash", [join(root, "examples/echo_bot.sh"), bashId.file], { PATH: `${bin}:${process.env.PATH}` });
const bots = [{ name: "ts", key: tsKey, child: tsBot }, { name: "bash", key: bashId.key, child: bashBot }];
await new Promise((r) => setTimeout(r, 2000)); // the bash bot's record is in the DHT

const stats = { started: 0, vanished: 0, sent: 0, delivered: 0, failed: 0, echoes: 0, exits: {} };
const perBot = Object.fromEntries(bots.map((b) => [b.name, { delivered: 0, echoes: 0 }]));
let running = 0;
function converse(n) {
  const bot = bots[n % bots.length], who = people[n % people.length];
  const lines = Array.from({ length: 3 }, (_, i) => `msg ${n}.${i}`);
  const child = spawn(chat[0], [...chat.slice(1), "send", bot.key, "--identity", who.file, "--wait", "2", "--timeout", "15000"], { env, stdio: ["pipe", "pipe", "ignore"] });
  running++;
  stats.started++;
  stats.sent += lines.length;
  child.stdin.end(lines.join("\n") + "\n");
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  if (Math.random() < vanish) {
    // Vanish mid-conversation: after the messages went out, before the echoes are all back.
    setTimeout(() => {
      stats.vanished++;
      child.kill("SIGKILL");
    }, 100 + Math.random() * 1500);
  }
  child.on("close", (code, signal) => {
    running--;
    const key = signal ?? String(code);
    stats.exits[key] = (stats.exits[key] ?? 0) + 1;
    for (const line of out.split("\n").filter(Boolean)) {
      const j = JSON.parse(line);
      if (j.type === "delivered") stats.delivered++, perBot[bot.name].delivered++;
      if (j.type === "failed") stats.failed++;
      if (j.type === "message" && j.text.startsWith("echo: msg")) stats.echoes++, perBot[bot.name].echoes++;
    }
  });
}

const t0 = Date.now();
const samples = [];
let n = 0;
const spawner = setInterval(() => {
  if (running < 8) converse(n++); // at most 8 senders at once on a 2-core machine
}, everyMs);
const sample = () => {
  const s = { t: Math.round((Date.now() - t0) / 1000), ...stats, exits: { ...stats.exits }, perBot: structuredClone(perBot) };
  for (const b of bots) {
    const alive = b.child.exitCode === null && b.child.signalCode === null;
    s[`${b.name}Alive`] = alive;
    const m = rss(b.child.pid);
    s[`${b.name}RssMiB`] = +(m.total / 1024).toFixed(1);
    if (b.name === "bash") s.bashListenRssMiB = +(m.listen / 1024).toFixed(1);
  }
  samples.push(s);
  console.log(JSON.stringify(s));
};
const sampler = setInterval(sample, 30_000);
await new Promise((r) => setTimeout(r, minutes * 60_000));
clearInterval(spawner);
while (running > 0) await new Promise((r) => setTimeout(r, 200));
clearInterval(sampler);
sample();

const first = samples[0], last = samples.at(-1);
const summary = {
  type: "summary", minutes, conversations: stats.started, vanished: stats.vanished, messages: stats.sent, delivered: stats.delivered,
  failed: stats.failed, echoes: stats.echoes, perBot,
  tsBot: { alive: last.tsAlive, rssMiB: { first: first.tsRssMiB, last: last.tsRssMiB, max: Math.max(...samples.map((s) => s.tsRssMiB)) } },
  bashBot: { alive: last.bashAlive, listenRssMiB: { first: first.bashListenRssMiB, last: last.bashListenRssMiB, max: Math.max(...samples.map((s) => s.bashListenRssMiB)) } },
};
console.log(JSON.stringify(summary));
killAll();
net.destroy();
rmSync(dir, { recursive: true, force: true });
process.exit(last.tsAlive && last.bashAlive ? 0 : 1);
