// Helpers of the attack suites (test/attack_*.test.ts): a legitimate swarm whose nodes sit on
// distinct loopback /24s (127.0.0.0/8 is all loopback on Linux), raw attacker sockets, memory
// sampling, and the duration knob.
//
// Every node here runs with `restrictLocal`: the rules for public addresses (BEP 42 ids, one
// contact per IP, votes per /24, quotas per IP) apply on loopback too, so the attacks meet them.
// `CHAT_ATTACK_SECONDS` sets how long each attack runs (default: a few seconds, for `npm test`;
// `npm run attack` sets 600). With `CHAT_ATTACK_REPORT=1` each suite prints one JSON line of figures.
import dgram from "node:dgram";
import { type BDict, type BInput, decode, encode, isDict } from "../src/bencode.ts";
import { nodeIdFor } from "../src/dht/bep42.ts";
import { DhtNode, type DhtOptions } from "../src/dht/node.ts";
import type { Address } from "../src/dht/transport.ts";
import { UdpTransport } from "../src/dht/udp.ts";

/** How long each attack runs, in ms. */
export const attackMs = (shortSeconds: number): number => 1000 * Number(process.env["CHAT_ATTACK_SECONDS"] ?? shortSeconds);

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Prints one line of figures for the README's attack table (only with CHAT_ATTACK_REPORT=1). */
export function report(attack: string, figures: Record<string, unknown>): void {
  if (process.env["CHAT_ATTACK_REPORT"]) console.log(`attack ${JSON.stringify({ attack, seconds: attackMs(0) / 1000 || undefined, ...figures })}`);
}

/** Resident memory in MiB. */
export const rssMiB = (): number => process.memoryUsage().rss / 2 ** 20;

/** Samples RSS every 100 ms until stopped; returns the peak. */
export function rssPeak(): { stop(): number } {
  let peak = rssMiB();
  const timer = setInterval(() => (peak = Math.max(peak, rssMiB())), 100);
  return { stop: () => (clearInterval(timer), Math.max(peak, rssMiB())) };
}

/** A DHT node on `host` (a loopback address) with a BEP 42 id for it, under the public-address rules. */
export async function nodeAt(host: string, opts: Partial<DhtOptions> = {}): Promise<DhtNode> {
  const transport = await UdpTransport.bind({ host });
  return new DhtNode({ transport, id: nodeIdFor(host)!, bootstrap: false, restrictLocal: true, ...opts });
}

export interface Swarm {
  nodes: DhtNode[];
  bootstrap: Address[];
  destroy(): void;
}

/** n legitimate nodes, node i on 127.1.i.1 (one /24 each), joined to each other. */
export async function legitSwarm(n: number): Promise<Swarm> {
  const transports: UdpTransport[] = [];
  for (let i = 1; i <= n; i++) transports.push(await UdpTransport.bind({ host: `127.1.${i}.1` }));
  const bootstrap = transports.slice(0, 3).map((t) => t.address());
  const nodes = transports.map((transport) =>
    new DhtNode({ transport, id: nodeIdFor(transport.address().host)!, bootstrap, restrictLocal: true, maintenance: false }));
  for (let round = 0; round < 2; round++) await Promise.all(nodes.map((node) => node.bootstrap().catch(() => null)));
  return { nodes, bootstrap, destroy: () => { for (const node of nodes) node.destroy(); } };
}

/** A raw UDP socket that speaks KRPC by hand. */
export class RawSocket {
  readonly socket: dgram.Socket;
  sentBytes = 0;
  receivedBytes = 0;
  private _handler: ((msg: BDict, from: Address, size: number) => void) | null = null;
  private _closed = false;

  private constructor(socket: dgram.Socket) {
    this.socket = socket;
    socket.on("error", () => {});
    socket.on("message", (buf, rinfo) => {
      this.receivedBytes += buf.length;
      let msg: unknown;
      try {
        msg = decode(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength));
      } catch {
        return;
      }
      if (isDict(msg)) this._handler?.(msg, { host: rinfo.address, port: rinfo.port }, buf.length);
    });
  }

  static bind(host: string): Promise<RawSocket> {
    const socket = dgram.createSocket("udp4");
    return new Promise((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(0, host, () => {
        socket.off("error", reject);
        resolve(new RawSocket(socket));
      });
    });
  }

  get address(): Address {
    const a = this.socket.address();
    return { host: a.address, port: a.port };
  }

  onMessage(handler: (msg: BDict, from: Address, size: number) => void): void {
    this._handler = handler;
  }

  send(msg: BInput | Uint8Array, to: Address): number {
    if (this._closed) return 0;
    const buf = msg instanceof Uint8Array ? msg : encode(msg);
    this.sentBytes += buf.length;
    this.socket.send(buf, to.port, to.host);
    return buf.length;
  }

  close(): void {
    if (this._closed) return;
    this._closed = true;
    this.socket.removeAllListeners("message");
    this.socket.close();
  }
}

export const text = (b: BInput | undefined): string => (b instanceof Uint8Array ? Buffer.from(b).toString("latin1") : "");

/** An id that shares its first `bits` bits with `near`, the rest random. */
export function idNear(near: Uint8Array, bits: number): Uint8Array {
  const out = crypto.getRandomValues(new Uint8Array(20));
  for (let i = 0; i < bits; i++) {
    const mask = 0x80 >> (i & 7);
    out[i >> 3] = (out[i >> 3]! & ~mask) | (near[i >> 3]! & mask);
  }
  return out;
}
