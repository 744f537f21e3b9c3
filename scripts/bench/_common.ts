// Shared by the benchmarks: fixtures, statistics, and bittorrent-dht as the peer to compare with.
import { ed25519 } from "@noble/curves/ed25519.js";
import DHT from "bittorrent-dht";
import { encode } from "../../src/bencode.ts";
import { bep44SignedBuffer } from "../../src/crypto/record.ts";
import type { DhtNode } from "../../src/dht/node.ts";

export const verify = (sig: Uint8Array, msg: Uint8Array, pk: Uint8Array) => ed25519.verify(sig, msg, pk, { zip215: false });
/** A deterministic Ed25519 seed and value per item index. */
export const seedOf = (i: number) => Uint8Array.from({ length: 32 }, (_, j) => (i * 7 + j + 1) & 255);
export const value = (i: number) => new TextEncoder().encode(`bench value ${i}`);

export const median = (xs: number[]) => pct(xs, 0.5);
export function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? NaN;
}
export const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
export const fmt = (x: number, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : "–");
/** Progress goes to stderr, so stdout is only the tables. */
export const log = (s: string) => process.stderr.write(s + "\n");

/** Latencies, queries per operation, and how many succeeded. */
export interface Run { ms: number[]; queries: number[]; ok: number }
export const newRun = (): Run => ({ ms: [], queries: [], ok: 0 });

/** Puts mutable bench item i (signed by seedOf(i)) through our `node`; resolves with its target. */
export async function putItem(node: DhtNode, i: number): Promise<Uint8Array> {
  const k = ed25519.getPublicKey(seedOf(i));
  const sig = ed25519.sign(bep44SignedBuffer({ seq: 1, v: encode(value(i)) }), seedOf(i));
  return (await node.put({ k, seq: 1, v: value(i), sig })).target;
}

/** Gets bench item i from `target` through our `node`, timing it into `run`. */
export async function timedGet(node: DhtNode, target: Uint8Array, i: number, run: Run): Promise<void> {
  const t = performance.now();
  const res = await node.get(target);
  run.ms.push(performance.now() - t);
  run.queries.push(res.stats.queries);
  if (res.item && Buffer.from(res.item.v as Uint8Array).equals(Buffer.from(value(i)))) run.ok++;
}

/**
 * bittorrent-dht 11 on a loopback swarm of n nodes: `count` mutable items put, then each fetched
 * once by a fresh client (no cache), counting its queries.
 */
export async function theirsGets(n: number, count: number): Promise<Run> {
  const nodes: DHT[] = [];
  const listen = async (bootstrap: string[] | false) => {
    const dht = new DHT({ bootstrap, verify, host: "127.0.0.1" });
    nodes.push(dht);
    await new Promise<void>((resolve) => dht.listen(0, "127.0.0.1", resolve));
    // With no bootstrap, "ready" fires on the next tick, before `listen` calls back.
    if (!(dht as DHT & { ready?: boolean }).ready) await new Promise((resolve) => dht.once("ready", resolve));
    return dht;
  };
  try {
    const first = await listen(false);
    const bootstrap = [`127.0.0.1:${first.address().port}`];
    for (let i = 1; i < n; i += 32) {
      await Promise.all(Array.from({ length: Math.min(32, n - i) }, () => listen(bootstrap)));
    }
    const putter = await listen(bootstrap);
    const getter = await listen(bootstrap);
    const targets: Uint8Array[] = [];
    for (let i = 0; i < count; i++) {
      const k = Buffer.from(ed25519.getPublicKey(seedOf(i)));
      targets.push(await new Promise<Uint8Array>((resolve, reject) => putter.put(
        { k, seq: 1, v: Buffer.from(value(i)), sign: (buf) => Buffer.from(ed25519.sign(buf, seedOf(i))) },
        (err, key) => (err ? reject(err) : resolve(key)),
      )));
    }
    const socket = (getter as unknown as { _rpc: { socket: { query: (...a: unknown[]) => unknown } } })._rpc.socket;
    const query = socket.query.bind(socket);
    let queries = 0;
    socket.query = (...a: unknown[]) => { queries++; return query(...a); };
    const run = newRun();
    for (const [i, target] of targets.entries()) {
      const before = queries;
      const t = performance.now();
      const got = await new Promise<{ v: Uint8Array } | null>((resolve) => getter.get(target, { cache: false }, (err, v) => resolve(err ? null : v)));
      run.ms.push(performance.now() - t);
      run.queries.push(queries - before);
      if (got && Buffer.from(got.v).equals(Buffer.from(value(i)))) run.ok++;
    }
    return run;
  } finally {
    await Promise.all(nodes.map((d) => new Promise<void>((resolve) => d.destroy(() => resolve()))));
  }
}
