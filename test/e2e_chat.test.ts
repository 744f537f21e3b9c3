// End to end with real processes and real pipes: `chat swarm &`, `chat listen | …`,
// `echo … | chat send …`, on this runtime and across Node and Deno.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ChildProcess } from "node:child_process";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { finished, isDeno, runChat, startChat } from "./_cli.ts";

const e2e = suite("e2e: swarm, listen, send as processes");
const dir = mkdtempSync(join(tmpdir(), "chat-e2e-"));
const here = isDeno ? "deno" : "node";
const other = isDeno ? "node" : "deno";
let swarm: ChildProcess | undefined;
let env: Record<string, string> = {};
const ids: Record<string, { file: string; key: string }> = {};

/** Resolves with each stdout JSON line of `child` matching `pred` (the first one). */
function lineWhere(child: ChildProcess, pred: (j: Record<string, unknown>) => boolean, timeoutMs = 15_000): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let buf = "";
    const timer = setTimeout(() => reject(new Error(`timed out waiting for a line; got: ${buf}`)), timeoutMs);
    const onData = (d: Buffer) => {
      buf += d.toString("utf8");
      for (const line of buf.split("\n").slice(0, -1)) {
        const j = JSON.parse(line);
        if (pred(j)) {
          clearTimeout(timer);
          child.stdout!.off("data", onData);
          return resolve(j);
        }
      }
    };
    child.stdout!.on("data", onData);
  });
}

e2e.before(async () => {
  swarm = startChat(["swarm", "--nodes", "16"]);
  const ready = await lineWhere(swarm, (j) => j["type"] === "swarm");
  env = { CHAT_BOOTSTRAP: (ready["bootstrap"] as string[]).join(",") };
  for (const name of ["alice", "bob"]) {
    const file = join(dir, `${name}.json`);
    assert.is((await runChat(["keygen", "--out", file])).code, 0);
    ids[name] = { file, key: JSON.parse((await runChat(["id", file])).stdout).publicKey };
  }
});

e2e.after(() => {
  swarm?.kill("SIGTERM");
  rmSync(dir, { recursive: true, force: true });
});

async function converse(listener: "alice" | "bob", listenOn: "node" | "deno", sender: "alice" | "bob", sendFrom: "node" | "deno") {
  const listen = startChat(["listen", "--identity", ids[listener]!.file, "--count", "2"], { env, runtime: listenOn });
  listen.stdin!.end();
  const announced = await lineWhere(listen, (j) => j["type"] === "announced");
  assert.ok((announced["stored"] as number) > 0, "the record was stored");
  const done = finished(listen, 30_000);
  const send = await runChat(["send", ids[listener]!.key, "--identity", ids[sender]!.file], { env, runtime: sendFrom, stdin: "hi\nthere\n", timeoutMs: 30_000 });
  assert.is(send.code, 0, send.stderr);
  const reports = send.stdout.trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(reports.map((r) => r.type), ["delivered", "delivered"]);
  const got = await done;
  assert.is(got.code, 0, got.stderr);
  const messages = got.stdout.trim().split("\n").map((l) => JSON.parse(l)).filter((j) => j.type === "message");
  assert.equal(messages.map((m) => m.text).sort(), ["hi", "there"]);
  for (const m of messages) assert.is(m.from, ids[sender]!.key, "the sender is authenticated");
  assert.equal(messages.map((m) => m.id).sort(), reports.map((r) => r.id).sort(), "ids match the delivery reports");
}

e2e(`${here} → ${here}: echo | chat send, chat listen prints both messages`, () => converse("alice", here, "bob", here));
e2e(`${other} sends to ${here} and ${here} sends back`, async () => {
  await converse("alice", here, "bob", other);
  await converse("bob", other, "alice", here);
});

e2e("send --json: each line is {text}; a malformed line is reported, the rest delivered, exit 2", async () => {
  const listen = startChat(["listen", "--identity", ids["alice"]!.file, "--count", "2"], { env });
  listen.stdin!.end();
  await lineWhere(listen, (j) => j["type"] === "announced");
  const done = finished(listen, 30_000);
  const stdin = '{"text":"one"}\nnot json\n{"text":"two"}\n';
  const send = await runChat(["send", ids["alice"]!.key, "--json", "--identity", ids["bob"]!.file], { env, stdin, timeoutMs: 30_000 });
  assert.is(send.code, 2, "bad input makes the exit code 2");
  assert.is(JSON.parse(send.stderr.split("\n")[0]!).error.code, "BAD_JSON");
  assert.is(send.stdout.trim().split("\n").filter((l) => JSON.parse(l).type === "delivered").length, 2, "the good lines were still sent");
  const got = await done;
  assert.equal(got.stdout.trim().split("\n").map((l) => JSON.parse(l)).filter((j) => j.type === "message").map((m) => m.text).sort(), ["one", "two"]);
});

e2e("listen exits cleanly on SIGTERM", async () => {
  const listen = startChat(["listen", "--identity", ids["bob"]!.file], { env });
  listen.stdin!.end();
  await lineWhere(listen, (j) => j["type"] === "announced");
  const done = finished(listen, 10_000);
  listen.kill("SIGTERM");
  const r = await done;
  assert.equal(JSON.parse(r.stdout.trim().split("\n").at(-1)!), { type: "closed", reason: "SIGTERM" }, "it shut down itself");
  // Deno's child_process reports (null, "SIGTERM") for a child that handled the signal and exited 0.
  if (!isDeno) assert.is(r.code, 0, r.stderr);
});

e2e("chat demo runs the whole stack and exits 0", async () => {
  const r = await runChat(["demo", "--nodes", "20"], { timeoutMs: 60_000 });
  assert.is(r.code, 0, r.stderr);
  const steps = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(steps.map((s) => s.step), ["swarm", "identities", "announced", "lookup", "message", "message", "message", "reply"]);
  for (const s of steps) assert.type(s.ms, "number");
  assert.ok(steps.filter((s) => s.step === "message" || s.step === "reply").every((s) => s.authenticated === true));
  assert.match(r.stderr, /chat demo:/);
});

e2e("send to a key nobody announced: exit 1, not found", async () => {
  const stranger = JSON.parse((await runChat(["keygen"])).stdout).publicKey;
  const r = await runChat(["send", stranger, "hello?", "--identity", ids["bob"]!.file], { env, timeoutMs: 30_000 });
  assert.is(r.code, 1, r.stderr);
  assert.is(JSON.parse(r.stderr.split("\n")[0]!).error.code, "NOT_FOUND");
});

e2e("no bootstrap node answers: exit 3", async () => {
  const r = await runChat(["lookup", ids["alice"]!.key, "--bootstrap", "127.0.0.1:9"], { timeoutMs: 30_000 });
  assert.is(r.code, 3, r.stderr);
});

e2e.run();
