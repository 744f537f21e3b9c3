// First message through real Linux NATs (the NAT lab of test/nat/, network namespaces: needs root,
// `ip` and `iptables`): a fresh `chat send` process looks the listener up, handshakes and gets its
// ack, for a listener and a sender both public, both behind cone NATs (the punch makes the
// session direct), and both behind symmetric NATs (it stays relayed). Side by side in one run:
// the handshake + message + ack time that `delivered` reports (`rttMs`), and the whole process.
// Run: `node dist/scripts/bench/natlab.bench.js` or `deno run -A scripts/bench/natlab.bench.ts`.
// CHAT_BENCH_ITERS (default 7) sends per pair.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runChat } from "../../test/_cli.ts";
import { type ChatProc, sendOnce, startChatIn } from "../../test/nat/chat.ts";
import { type Host, NatLab } from "../../test/nat/lab.ts";

const ITERS = Number(process.env["CHAT_BENCH_ITERS"] ?? 7);
const deno = (globalThis as unknown as { Deno?: { version: { deno: string } } }).Deno;
const runtime = deno ? `deno v${deno.version.deno}` : `node ${process.version}`;
const dir = mkdtempSync(join(tmpdir(), "chat-natbench-"));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

async function identity(name: string) {
  const file = join(dir, `${name}.json`);
  if ((await runChat(["keygen", "--out", file])).code !== 0) throw new Error(`keygen ${name}`);
  return { file, key: JSON.parse((await runChat(["id", file])).stdout).publicKey as string };
}

const lab = new NatLab();
const procs: ChatProc[] = [];
try {
  const nodes = ["d0", "d1", "d2", "d3"].map((n) => lab.publicHost(n));
  const bootstrap = nodes.map((h) => `${h.ip}:6881`).join(",");
  for (const h of nodes) procs.push(startChatIn(lab, h, ["node", "--port", "6881", "--bootstrap", bootstrap], {}));
  await Promise.all(procs.map((p) => p.waitFor((e) => e["type"] === "listening", 15_000, "listening")));
  const env = { CHAT_BOOTSTRAP: bootstrap };
  const home = (name: string, mapping: "cone" | "symmetric"): Host => lab.host(name, lab.router(`r-${name}`, { mapping }));
  const pairs = [
    { name: "public → public", listener: lab.publicHost("lp"), sender: lab.publicHost("sp") },
    { name: "cone → cone", listener: home("lc", "cone"), sender: home("sc", "cone") },
    { name: "symmetric → symmetric", listener: home("ly", "symmetric"), sender: home("sy", "symmetric") },
  ];
  console.log(`runtime: ${runtime}; ${nodes.length} relaying chat nodes; ${ITERS} fresh \`chat send\` processes per pair\n`);
  console.log("| sender → listener | path | handshake + message + ack, median (min–max) | whole `chat send` process, median |\n|---|---|--:|--:|");
  for (const [i, pair] of pairs.entries()) {
    const [l, s] = [await identity(`l${i}`), await identity(`s${i}`)];
    const listener = startChatIn(lab, pair.listener, ["listen", "--identity", l.file], env);
    procs.push(listener);
    await listener.waitFor((e) => e["type"] === "announced" && Number(e["stored"]) > 0 && Array.isArray(e["relays"]) &&
      (pair.name.startsWith("public") || (e["relays"] as unknown[]).length === 2), 60_000, "a stored announcement");
    const rtt: number[] = [], wall: number[] = [];
    const paths = new Set<string>();
    for (let n = 0; n < ITERS; n++) {
      const t0 = performance.now();
      const p = await sendOnce(lab, pair.sender, l.key, s.file, `hello ${n}`, env, 40_000);
      const delivered = p.events.find((e) => e["type"] === "delivered");
      if (!delivered) throw new Error(`${pair.name}: not delivered: ${JSON.stringify(p.events)}`);
      wall.push(performance.now() - t0);
      rtt.push(Number(delivered["rttMs"]));
      paths.add(String(delivered["path"]));
    }
    console.log(`| ${pair.name} | ${[...paths].join(", ")} | ${median(rtt).toFixed(0)} ms (${Math.min(...rtt)}–${Math.max(...rtt)}) | ${median(wall).toFixed(0)} ms |`);
  }
} finally {
  for (const p of procs) lab.kill(p.child);
  lab.destroy();
  rmSync(dir, { recursive: true, force: true });
}
