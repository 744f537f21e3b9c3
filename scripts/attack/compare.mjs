#!/usr/bin/env node
// The "before" column of the README's attack table: the storage flood and the amplification
// probes of the attack suites, against any build of this project (a checkout with dist/), so
// that the code before the defences and after them meet the same attack.
// Run: node scripts/attack/compare.mjs DIR [SECONDS]   (DIR: a checkout built with npm run build)
import dgram from "node:dgram";
import { createHash } from "node:crypto";
import { resolve } from "node:path";

const dir = resolve(process.argv[2] ?? ".");
const seconds = Number(process.argv[3] ?? 20);
const { DhtNode } = await import(`${dir}/dist/src/dht/node.js`);
const { UdpTransport } = await import(`${dir}/dist/src/dht/udp.js`);
const { encode, decode } = await import(`${dir}/dist/src/bencode.js`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const rss = () => process.memoryUsage().rss / 2 ** 20;

async function socket(host) {
  const s = dgram.createSocket("udp4");
  await new Promise((r) => s.bind(0, host, r));
  s.inbox = [];
  s.on("message", (m) => s.inbox.push(m));
  return s;
}

async function victim() {
  const node = new DhtNode({ transport: await UdpTransport.bind({ host: "127.0.0.1" }), bootstrap: false, maintenance: false });
  return { node, to: node.address() };
}

/** 100 IPs put 1000-byte lists of 494 empty strings, 10 every 10 ms, for `seconds`. */
async function storage() {
  const { node, to } = await victim();
  const socks = [];
  for (let i = 1; i <= 100; i++) {
    const s = await socket(`127.66.${i}.1`);
    s.send(encode({ t: "tk", y: "q", q: "get", a: { id: new Uint8Array(20), target: new Uint8Array(20) } }), to.port, to.host);
    socks.push(s);
  }
  await sleep(300);
  for (const s of socks) s.token = decode(new Uint8Array(s.inbox[0] ?? [])).r?.token;
  const rss0 = rss();
  let peak = rss0, puts = 0;
  const raw = new TextEncoder().encode(`l8:00000000${"0:".repeat(494)}e`);
  for (const end = Date.now() + seconds * 1000; Date.now() < end;) {
    for (let i = 0; i < 10; i++, puts++) {
      const s = socks[puts % socks.length];
      raw.set(new TextEncoder().encode(String(puts % 1e8).padStart(8, "0")), 3);
      s.send(encode({ t: "pa", y: "q", q: "put", a: { id: new Uint8Array(20), token: s.token, v: decode(raw) } }), to.port, to.host);
    }
    peak = Math.max(peak, rss());
    await sleep(10);
  }
  await sleep(500);
  const out = { puts, items: node.stats().items, rssGrowthMiB: Math.round(Math.max(peak, rss()) - rss0) };
  for (const s of socks) s.close();
  node.destroy();
  return out;
}

/** The smallest get (of a stored 990-byte value), find_node and a broken query, from a never-seen address. */
async function amplification() {
  const { node, to } = await victim();
  for (let i = 1; i <= 30; i++) node.table.heard({ id: crypto.getRandomValues(new Uint8Array(20)), host: `10.9.0.${i}`, port: 6881 }, Date.now());
  const ask = async (s, buf) => {
    s.inbox = [];
    s.send(buf, to.port, to.host);
    await sleep(100);
    return s.inbox.filter((m) => !m.includes("1:y1:q")).map((m) => m.length);
  };
  const owner = await socket("127.3.0.1");
  const v = new Uint8Array(990);
  const target = createHash("sha1").update(encode(v)).digest();
  await ask(owner, encode({ t: "a", y: "q", q: "get", a: { id: new Uint8Array(20), target } }));
  const token = decode(new Uint8Array(owner.inbox[0])).r.token;
  await ask(owner, encode({ t: "b", y: "q", q: "put", a: { id: new Uint8Array(20), token, v } }));
  const fresh = await socket("127.4.0.1");
  const out = {};
  for (const [name, buf] of [
    ["get", encode({ t: "x", y: "q", q: "get", a: { id: new Uint8Array(20), target } })],
    ["find_node", encode({ t: "x", y: "q", q: "find_node", a: { id: new Uint8Array(20), target } })],
    ["broken", encode({ t: "x", y: "q" })],
  ]) {
    const sizes = await ask(fresh, buf);
    out[name] = `${buf.length} → ${sizes.join("+") || "nothing"}${sizes.length ? ` (${(Math.max(...sizes) / buf.length).toFixed(1)}×)` : ""}`;
  }
  owner.close();
  fresh.close();
  node.destroy();
  return out;
}

console.log(JSON.stringify({ build: dir, storage: await storage(), amplification: await amplification() }));
