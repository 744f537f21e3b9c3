// Helpers of the DHT suites: a hand-driven KRPC peer on the simulated network, item signing.
import { ed25519 } from "@noble/curves/ed25519.js";
import { type BDict, type BInput, decode, encode, isDict } from "../src/bencode.ts";
import { bep44SignedBuffer } from "../src/crypto/record.ts";
import type { PutItem } from "../src/dht/item.ts";
import { DhtNode, type DhtOptions } from "../src/dht/node.ts";
import { SimNetwork, type SimTransport } from "../src/dht/sim.ts";
import type { Address } from "../src/dht/transport.ts";

export const bytes = (s: string) => new TextEncoder().encode(s);
export const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
export const fromHex = (s: string) => Uint8Array.from(Buffer.from(s, "hex"));
export const id = (fill: number) => new Uint8Array(20).fill(fill);

/** A mutable item signed with `seed` (32 bytes), as a client puts it. */
export function signed(seed: Uint8Array, seq: number, v: BInput, salt?: Uint8Array, cas?: number): PutItem {
  const sig = ed25519.sign(bep44SignedBuffer({ seq, v: encode(v), salt }), seed);
  return { v: decode(encode(v)), k: ed25519.getPublicKey(seed), seq, sig, ...(salt ? { salt } : {}), ...(cas === undefined ? {} : { cas }) };
}

/**
 * One DHT node under test and raw peers that speak KRPC to it by hand, on a simulated network
 * with a fixed 1 ms latency; every reply is checked against the anti-amplification bound.
 */
export class Bench {
  readonly net = new SimNetwork({ latency: [1, 1] });
  readonly node: DhtNode;
  private _t = 0;

  constructor(opts: Partial<DhtOptions> = {}) {
    this.node = new DhtNode({ transport: this.net.transport(), clock: this.net.clock, bootstrap: false, maintenance: false, ...opts });
  }

  get to(): Address {
    return this.node.address();
  }

  peer(host?: string): RawPeer {
    return new RawPeer(this, this.net.transport(host));
  }

  nextT(): Uint8Array {
    this._t = (this._t + 1) & 0xffff;
    return new Uint8Array([this._t >> 8, this._t & 0xff]);
  }

  settle(ms = 5): Promise<void> {
    return this.net.clock.run(this.net.clock.now() + ms);
  }
}

export class RawPeer {
  readonly transport: SimTransport;
  readonly id: Uint8Array = crypto.getRandomValues(new Uint8Array(20));
  readonly inbox: { msg: BDict; size: number }[] = [];
  private readonly _bench: Bench;

  constructor(bench: Bench, transport: SimTransport) {
    this._bench = bench;
    this.transport = transport;
    transport.onMessage((buf) => {
      const msg = decode(buf);
      if (isDict(msg)) this.inbox.push({ msg, size: buf.length });
    });
  }

  get host(): string {
    return this.transport.host;
  }

  /**
   * Makes the node under test query this peer and answers it: the peer's address is then proved
   * (replies to it may exceed 3× the query, server.ts).
   */
  async verify(): Promise<void> {
    const before = this.inbox.length;
    const pinged = this._bench.node.ping(this.transport.address());
    await this._bench.settle();
    const ping = this.inbox.slice(before).find((m) => m.msg["y"] instanceof Uint8Array && m.msg["y"][0] === 0x71);
    if (!ping) throw new Error("The node under test sent no ping");
    this.transport.send(encode({ t: ping.msg["t"] as Uint8Array, y: "r", r: { id: this.id } }), this._bench.to);
    await this._bench.settle();
    await pinged;
  }

  /** Sends a raw datagram to the node under test and returns every datagram that came back. */
  async sendRaw(buf: Uint8Array): Promise<{ msg: BDict; size: number }[]> {
    const before = this.inbox.length;
    this.transport.send(buf, this._bench.to);
    await this._bench.settle();
    return this.inbox.slice(before);
  }

  /** Sends one query; resolves with the reply (or error) dict, or null if none came. */
  async query(q: string, a: Record<string, BInput | undefined>): Promise<BDict | null> {
    const t = this._bench.nextT();
    const buf = encode({ t, y: "q", q, a: { id: this.id, ...a } });
    const replies = await this.sendRaw(buf);
    const reply = replies.find((r) => Buffer.from(r.msg["t"] as Uint8Array).equals(Buffer.from(t)));
    if (reply && reply.size > buf.length * 16) throw new Error(`Reply of ${reply.size} bytes to a ${buf.length}-byte query`);
    return reply?.msg ?? null;
  }

  /** The `r` dict of a successful reply (throws on an error reply or silence). */
  async r(q: string, a: Record<string, BInput | undefined>): Promise<BDict> {
    const m = await this.query(q, a);
    if (!m || !isDict(m["r"])) throw new Error(`No r for ${q}: ${m ? JSON.stringify(m["e"]) : "no reply"}`);
    return m["r"];
  }

  /** The error code of a reply (null if it was not an error). */
  async code(q: string, a: Record<string, BInput | undefined>): Promise<number | null> {
    const m = await this.query(q, a);
    const e = m?.["e"];
    return Array.isArray(e) && typeof e[0] === "number" ? e[0] : null;
  }
}

export const percentile = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? NaN;
};
