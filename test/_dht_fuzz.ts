// The DHT fuzzer, shared by test/dht_fuzz.test.ts (100,000 datagrams) and scripts/fuzz-dht.ts
// (10 million): random bytes, mutated valid KRPC, and well-formed queries with random fields
// (valid tokens included), from thousands of source addresses, into one node's datagram handler.
import { ed25519 } from "@noble/curves/ed25519.js";
import { type BInput, decode, encode, isDict } from "../src/bencode.ts";
import { bep44SignedBuffer } from "../src/crypto/record.ts";
import { DhtNode, type DhtStats } from "../src/dht/node.ts";
import { seededRandom, VirtualClock } from "../src/dht/sim.ts";
import type { Address, Transport } from "../src/dht/transport.ts";

const METHODS = ["ping", "find_node", "get_peers", "announce_peer", "get", "put", "vote", "sample_infohashes"];
const KEYS = ["id", "target", "info_hash", "token", "port", "implied_port", "v", "k", "seq", "sig", "salt", "cas", "want", "nodes"];

/** A transport that goes nowhere: it keeps the last datagram sent, for checks. */
class NullTransport implements Transport {
  sent = 0;
  last: { buf: Uint8Array; to: Address } | null = null;
  send(buf: Uint8Array, to: Address): void {
    this.sent++;
    this.last = { buf, to };
  }
  onMessage(): void {}
  address(): Address {
    return { host: "10.255.255.254", port: 6881 };
  }
  close(): void {}
}

export interface FuzzReport {
  datagrams: number;
  replies: number;
  stats: DhtStats;
  heapGrowth: number;
  /** Whether the node answered a well-formed ping after the storm. */
  alive: boolean;
}

export async function fuzzNode(count: number, seed: number, onProgress?: (done: number) => void): Promise<FuzzReport> {
  const rnd = seededRandom(seed);
  const int = (n: number) => Math.floor(rnd() * n);
  const randomBytes = (n: number) => Uint8Array.from({ length: n }, () => int(256));
  const clock = new VirtualClock();
  const transport = new NullTransport();
  const node = new DhtNode({ transport, clock, bootstrap: false, maintenance: false });
  for (let i = 0; i < 40; i++) node.table.heard({ id: randomBytes(20), host: `10.1.0.${i}`, port: 6881 }, 0);
  const hosts = Array.from({ length: 4096 }, (_, i) => ({ host: `10.${2 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`, port: 1000 + int(60000) }));
  const tokens = new Map<string, Uint8Array>();
  const seeds = [new Uint8Array(32).fill(1), new Uint8Array(32).fill(2)];
  const keys = seeds.map((s) => ed25519.getPublicKey(s));

  const randomValue = (depth = 0): BInput => {
    const r = rnd();
    if (r < 0.35 || depth > 2) return randomBytes([0, 1, 6, 19, 20, 21, 26, 32, 64, 65, int(1100)][int(11)]!);
    if (r < 0.6) return [0, 1, -1, 65535, 65536, 2 ** 53 - 1, -(2 ** 40)][int(7)]! as number;
    if (r < 0.65) return (1n << 62n) + BigInt(int(1000));
    if (r < 0.8) return Array.from({ length: int(4) }, () => randomValue(depth + 1));
    const d: Record<string, BInput> = {};
    for (let i = int(4); i > 0; i--) d[KEYS[int(KEYS.length)]!] = randomValue(depth + 1);
    return d;
  };

  /** A well-formed query with random arguments; puts and announces often carry a valid token. */
  const structured = (from: Address): Uint8Array => {
    const q = METHODS[int(METHODS.length)]!;
    const a: Record<string, BInput> = { id: rnd() < 0.9 ? randomBytes(20) : randomValue() };
    for (let i = int(5); i > 0; i--) a[KEYS[int(KEYS.length)]!] = randomValue();
    if (rnd() < 0.5) a["target"] = randomBytes(20);
    if (rnd() < 0.5) a["info_hash"] = randomBytes(20);
    const token = tokens.get(from.host);
    if (token && rnd() < 0.7) a["token"] = token;
    if (q === "put" && rnd() < 0.3) {
      const s = int(2);
      const v = randomValue();
      const seq = int(10);
      a["v"] = v;
      a["k"] = keys[s]!;
      a["seq"] = seq;
      a["sig"] = rnd() < 0.5 ? ed25519.sign(bep44SignedBuffer({ seq, v: encode(v) }), seeds[s]!) : randomBytes(64);
      if (rnd() < 0.3) a["cas"] = int(10);
    }
    return encode({ t: randomBytes(1 + int(4)), y: "q", q, a });
  };

  const corpus = [
    encode({ t: "aa", y: "q", q: "ping", a: { id: randomBytes(20) } }),
    encode({ t: "ab", y: "q", q: "find_node", a: { id: randomBytes(20), target: randomBytes(20) } }),
    encode({ t: "ac", y: "q", q: "get_peers", a: { id: randomBytes(20), info_hash: randomBytes(20) } }),
    encode({ t: "ad", y: "q", q: "announce_peer", a: { id: randomBytes(20), info_hash: randomBytes(20), port: 6881, token: randomBytes(8) } }),
    encode({ t: "ae", y: "q", q: "get", a: { id: randomBytes(20), target: randomBytes(20), seq: 3 } }),
    encode({ t: "af", y: "q", q: "put", a: { id: randomBytes(20), token: randomBytes(8), v: "hello", k: keys[0]!, seq: 1, sig: randomBytes(64) } }),
    encode({ t: "ag", y: "r", r: { id: randomBytes(20), nodes: randomBytes(52), token: randomBytes(8), values: [randomBytes(6)] }, ip: randomBytes(6) }),
    encode({ t: "ah", y: "e", e: [201, "A Generic Error Ocurred"] }),
  ];

  const mutate = (src: Uint8Array): Uint8Array => {
    const buf = Array.from(src);
    for (let m = 1 + int(4); m > 0; m--) {
      const at = int(buf.length + 1);
      const op = int(4);
      if (op === 0) buf[at] = int(256);
      else if (op === 1) buf.splice(at, 1);
      else if (op === 2) buf.splice(at, 0, "ilde:0123456789-"[int(16)]!.charCodeAt(0));
      else buf.length = Math.min(buf.length, at);
    }
    return Uint8Array.from(buf);
  };

  const heapBefore = process.memoryUsage().heapUsed;
  let replies = 0;
  for (let i = 0; i < count; i++) {
    const from = hosts[int(hosts.length)]!;
    const r = rnd();
    const buf = r < 0.25 ? randomBytes(int(300)) : r < 0.6 ? mutate(corpus[int(corpus.length)]!) : structured(from);
    const before = transport.sent;
    node.handle(buf, from);
    if (transport.sent > before) {
      replies++;
      // Keep write tokens from get/get_peers replies, to make puts and announces that get far.
      const reply = transport.last!.buf[0] === 0x64 ? decode(transport.last!.buf) : null;
      const tok = isDict(reply) && isDict(reply["r"]) ? reply["r"]["token"] : undefined;
      if (tok instanceof Uint8Array) tokens.set(from.host, tok);
    }
    if (i % 4096 === 4095) {
      await clock.run(clock.now() + 50);
      onProgress?.(i + 1);
    }
  }
  const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
  const probe = { host: "10.250.0.1", port: 4242 };
  node.handle(encode({ t: "zz", y: "q", q: "ping", a: { id: randomBytes(20) } }), probe);
  const last = transport.last;
  const answer = last && last.to.host === probe.host ? decode(last.buf) : null;
  const alive = isDict(answer) && isDict(answer["r"]);
  const stats = node.stats();
  node.destroy();
  return { datagrams: count, replies, stats, heapGrowth, alive };
}
