// `chat talk` as a person sees it: a real terminal (a private tmux server: send-keys, capture-pane)
// on one side, a script speaking NDJSON on the other. Also: the passphrase prompt of a sealed
// identity reads the terminal while stdin carries the message.
import { spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { createTestnet, type Testnet } from "../src/dht/testnet.ts";
import { chatCommand, finished, jsonLine, runChat, startChat } from "./_cli.ts";

const talk = suite("cli: talk in a terminal (tmux)");
const dir = mkdtempSync(join(tmpdir(), "chat-talk-"));
const socket = `chat-test-${process.pid}`;
let net: Testnet;
let env: Record<string, string>;
const ids: Record<string, { file: string; key: string }> = {};
const children: ChildProcess[] = [];
let panes = 0;

const tmux = (...args: string[]) => spawnSync("tmux", ["-L", socket, ...args], { encoding: "utf8" });
/** tmux leaves its socket file behind when the server is killed. */
const socketFile = join(process.env["TMUX_TMPDIR"] ?? "/tmp", `tmux-${process.getuid!()}`, socket);
function stopTmux(): void {
  tmux("kill-server");
  rmSync(socketFile, { force: true });
}
// Also when the run dies before `after`: a tmux server outlives its client.
process.on("exit", () => {
  stopTmux();
  for (const c of children) c.kill("SIGKILL");
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `chat ARGS` (this runtime) in a new tmux window; its exit code lands in a file. */
function openPane(args: string[], stdinFrom?: string): { name: string; exitFile: string } {
  const name = `w${panes++}`;
  const exitFile = join(dir, `${name}.exit`);
  const [cmd, pre] = chatCommand();
  const quoted = [cmd, ...pre, ...args].map((w) => `'${w}'`).join(" ");
  const vars = Object.entries({ ...env, NO_COLOR: "1" }).map(([k, v]) => `${k}='${v}'`).join(" ");
  const line = `cd '${resolve(".")}' && ${stdinFrom ? `${stdinFrom} | ` : ""}env ${vars} ${quoted}; echo $? > '${exitFile}'; sleep 60`;
  const r = panes === 1
    ? tmux("new-session", "-d", "-s", "chat", "-n", name, "-x", "100", "-y", "30", line)
    : tmux("new-window", "-d", "-t", "chat", "-n", name, line);
  assert.is(r.status, 0, r.stderr);
  return { name, exitFile };
}

const screen = (pane: string) => tmux("capture-pane", "-p", "-t", `chat:${pane}`).stdout;

async function waitScreen(pane: string, pattern: RegExp, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = screen(pane);
    if (pattern.test(text)) return text;
    if (Date.now() > deadline) assert.unreachable(`no ${pattern} on the screen:\n${text}`);
    await sleep(100);
  }
}

async function exitCode(file: string, timeoutMs = 30_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(file) || readFileSync(file, "utf8") === "") {
    if (Date.now() > deadline) assert.unreachable(`no exit within ${timeoutMs} ms`);
    await sleep(100);
  }
  return Number(readFileSync(file, "utf8").trim());
}

function script(name: string, to: string): ChildProcess {
  const child = startChat(["talk", to, "--identity", ids[name]!.file], { env });
  children.push(child);
  return child;
}

talk.before(async () => {
  net = await createTestnet(12);
  env = { CHAT_BOOTSTRAP: net.bootstrap.map((a) => `${a.host}:${a.port}`).join(","), CHAT_STATE_DIR: join(dir, "state"), PASS: "open sesame" };
  for (const name of ["alice", "bob", "sealed", "carol", "dave"]) {
    const file = join(dir, `${name}.json`);
    const r = await runChat(["keygen", "--out", file, ...(name === "sealed" ? ["--passphrase-env", "PASS"] : [])], { env });
    ids[name] = { file, key: JSON.parse(r.stdout).publicKey };
    await runChat(["contacts", "add", name, ids[name]!.key], { env });
  }
});

talk.after(() => {
  stopTmux();
  for (const c of children) c.kill("SIGKILL");
  net.destroy();
  rmSync(dir, { recursive: true, force: true });
});

talk("a conversation: typed lines are delivered and marked, arriving lines keep the typed line intact, Ctrl-D leaves", async () => {
  const bob = script("bob", "alice");
  await jsonLine(bob, (j) => j["type"] === "announced");
  const pane = openPane(["talk", "bob", "--identity", ids["alice"]!.file]);
  await waitScreen(pane.name, /bob is online/);
  const got = jsonLine(bob, (j) => j["type"] === "message");
  got.catch(() => {});
  tmux("send-keys", "-t", `chat:${pane.name}`, "hello bob", "Enter");
  const first = await got;
  assert.is(first["text"], "hello bob");
  assert.is(first["name"], "alice", "a known sender is named");
  await waitScreen(pane.name, /\d\d:\d\d ✓ you: hello bob/);

  tmux("send-keys", "-t", `chat:${pane.name}`, "half typed");
  await waitScreen(pane.name, /> half typed/);
  bob.stdin!.write('{"text":"hi alice"}\n');
  // The message is printed above the prompt, and the line being typed is redrawn below it.
  const seen = await waitScreen(pane.name, /bob: hi alice\n> half typed\s*$/);
  const lines = seen.trimEnd().split("\n");
  assert.ok(lines.findIndex((l) => l.includes("bob: hi alice")) > lines.findIndex((l) => l.includes("you: hello bob")));

  const second = jsonLine(bob, (j) => j["type"] === "message");
  second.catch(() => {});
  tmux("send-keys", "-t", `chat:${pane.name}`, " and more", "Enter");
  assert.is((await second)["text"], "half typed and more");
  tmux("send-keys", "-t", `chat:${pane.name}`, "C-d");
  assert.is(await exitCode(pane.exitFile), 0);
  await waitScreen(pane.name, /left \(end of input\)/);

  const done = finished(bob, 10_000);
  bob.stdin!.end();
  const r = await done;
  assert.equal(JSON.parse(r.stdout.trim().split("\n").at(-1)!), { type: "closed", reason: "end of input" });
});

talk("two people, two terminals: each runs chat talk NAME and they talk both ways", async () => {
  // Identities no earlier test announced: a restarted peer's old record would cost a handshake timeout.
  const a = openPane(["talk", "dave", "--identity", ids["carol"]!.file]);
  await waitScreen(a.name, /you are online/);
  const b = openPane(["talk", "carol", "--identity", ids["dave"]!.file]);
  await waitScreen(b.name, /carol is online/);
  tmux("send-keys", "-t", `chat:${b.name}`, "hi carol, it's dave", "Enter");
  await waitScreen(a.name, /\d\d:\d\d   dave: hi carol, it's dave/);
  await waitScreen(b.name, /✓ you: hi carol, it's dave/);
  tmux("send-keys", "-t", `chat:${a.name}`, "hello dave!", "Enter");
  await waitScreen(b.name, /\d\d:\d\d   carol: hello dave!/);
  await waitScreen(a.name, /✓ you: hello dave!/);
  for (const pane of [a, b]) {
    tmux("send-keys", "-t", `chat:${pane.name}`, "C-d");
    assert.is(await exitCode(pane.exitFile), 0);
  }
});

talk("a peer that is not online is said so, a message to it is marked failed, Ctrl-C leaves cleanly", async () => {
  const stranger = JSON.parse((await runChat(["keygen"])).stdout).publicKey as string;
  const pane = openPane(["talk", stranger, "--identity", ids["alice"]!.file]);
  await waitScreen(pane.name, /is not online/);
  tmux("send-keys", "-t", `chat:${pane.name}`, "anyone there?", "Enter");
  await waitScreen(pane.name, /✗ you: anyone there\?/);
  await waitScreen(pane.name, /not delivered: "anyone there\?": \S+ is not online/);
  tmux("send-keys", "-t", `chat:${pane.name}`, "C-c");
  assert.is(await exitCode(pane.exitFile), 0);
  await waitScreen(pane.name, /left \(interrupted\)/);
});

talk("a sealed identity asks its passphrase on the terminal while stdin carries the message", async () => {
  const listen = startChat(["listen", "--identity", ids["bob"]!.file, "--count", "1"], { env });
  children.push(listen);
  listen.stdin!.end();
  await jsonLine(listen, (j) => j["type"] === "announced");
  const got = jsonLine(listen, (j) => j["type"] === "message", 60_000);
  got.catch(() => {});
  const pane = openPane(["send", "bob", "--identity", ids["sealed"]!.file], "echo 'sealed hello'");
  await waitScreen(pane.name, /Passphrase:/);
  tmux("send-keys", "-t", `chat:${pane.name}`, "open sesame", "Enter");
  assert.is(await exitCode(pane.exitFile), 0, screen(pane.name));
  const m = await got;
  assert.is(m["text"], "sealed hello");
  assert.is(m["from"], ids["sealed"]!.key);
  assert.not.match(screen(pane.name), "open sesame", "the passphrase is not echoed");
});

talk.run();
