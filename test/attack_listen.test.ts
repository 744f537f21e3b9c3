// Attack 5 with real processes: `chat listen | a reader that does not read`. Senders push 60 KB
// messages over UDP on loopback for 15 s while nobody reads listen's stdout; then listen is killed.
// Defence: listen writes one line at a time and acks a message only after its line reached stdout
// (src/commands/listen.ts), so its memory stays flat and every acked message is in the pipe.
import { readFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { generateIdentity } from "../src/crypto/identity.ts";
import { createTestnet, type Testnet } from "../src/dht/testnet.ts";
import { Peer } from "../src/peer.ts";
import { finished, runChat, startChat } from "./_cli.ts";

const test = suite("attack: chat listen | a reader that does not read");
const ATTACK_MS = 15_000;
/** listen's resident size may grow by at most this much over its idle size while it is stalled. */
const RSS_GROWTH_BOUND_MB = 64;

function rssMB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

test("memory stays flat, and every message a sender saw acked is in the pipe when listen is killed", async () => {
  const dir = mkdtempSync(join(tmpdir(), "chat-attack-"));
  let swarm: Testnet | undefined;
  const senders: Peer[] = [];
  const file = join(dir, "listener.json");
  assert.is((await runChat(["keygen", "--out", file])).code, 0);
  swarm = await createTestnet(8);
  const listen = startChat(["listen", "--identity", file], { env: { CHAT_BOOTSTRAP: swarm.bootstrap.map((a) => `${a.host}:${a.port}`).join(",") } });
  try {
    listen.stdin!.end();
    let head = "";
    const ready = await new Promise<{ publicKey: string; port: number }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`listen did not announce: ${head}`)), 20_000);
      const onData = (d: Buffer) => {
        head += d.toString("utf8");
        const lines = head.split("\n").slice(0, -1).map((l) => JSON.parse(l));
        const listening = lines.find((j) => j.type === "listening");
        if (listening && lines.some((j) => j.type === "announced")) {
          clearTimeout(timer);
          listen.stdout!.off("data", onData);
          listen.stdout!.pause(); // from now on nobody reads: the pipe fills, then listen must wait
          resolve({ publicKey: listening.publicKey, port: Number(String(listening.address).split(":").at(-1)) });
        }
      };
      listen.stdout!.on("data", onData);
    });
    const idle = rssMB(listen.pid!);
    const to = { host: "127.0.0.1", port: ready.port };
    const acked = new Set<string>();
    let failed = 0;
    let stop = false;
    for (let i = 0; i < 3; i++) {
      const peer = await Peer.open({ identity: generateIdentity(), host: "127.0.0.1", bootstrap: false });
      senders.push(peer);
      const text = String.fromCharCode(97 + i).repeat(60_000);
      const one = (): void => {
        if (stop) return;
        peer.send(ready.publicKey, text, { address: to }).then((d) => acked.add(hex(d.id)), () => failed++).finally(one);
      };
      for (let k = 0; k < 4; k++) one();
    }
    let peak = idle;
    const started = Date.now();
    while (Date.now() - started < ATTACK_MS) {
      await new Promise((r) => setTimeout(r, 500));
      peak = Math.max(peak, rssMB(listen.pid!));
    }
    stop = true;
    const done = finished(listen, 10_000);
    listen.kill("SIGKILL");
    listen.stdout!.resume();
    const out = await done;
    // Whole lines only: the kill may cut the line being written, whose message was not acked.
    const lines = (head + out.stdout).split("\n").slice(0, -1).map((l) => JSON.parse(l));
    const printed = new Set(lines.filter((j) => j.type === "message").map((j) => j.id));
    for (const id of acked) assert.ok(printed.has(id), `acked message ${id} is in the pipe`);
    assert.ok(acked.size > 0 && acked.size <= printed.size, `acked ${acked.size}, printed ${printed.size}`);
    assert.ok(failed > 0, "senders were told that messages beyond the queue failed");
    assert.ok(peak - idle < RSS_GROWTH_BOUND_MB, `listen grew from ${idle.toFixed(0)} to ${peak.toFixed(0)} MB`);
    console.log(`    listen stalled ${ATTACK_MS / 1000} s: RSS ${idle.toFixed(0)} → ${peak.toFixed(0)} MB, acked ${acked.size}, printed ${printed.size}, failed ${failed}`);
  } finally {
    listen.kill("SIGKILL");
    for (const p of senders) p.close();
    swarm.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
