// An in-memory network on virtual time: latency, loss, duplication, reordering and churn, all
// drawn from one seeded generator so that a run is reproducible. Holds 100,000 nodes in a process.
import { setImmediate } from "node:timers";
import type { Address, Clock, Transport } from "./transport.ts";

/** A small fast seeded generator (mulberry32): uniform floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Timer {
  at: number;
  seq: number;
  fn: (() => void) | null;
}

/**
 * Virtual time. Timers run in (time, insertion) order; between two instants the clock yields
 * to the event loop so that promise continuations run before time moves on, as they would.
 */
export class VirtualClock implements Clock {
  private _now = 0;
  private _seq = 0;
  private readonly _heap: Timer[] = [];

  now(): number {
    return this._now;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const timer: Timer = { at: this._now + Math.max(0, ms), seq: this._seq++, fn };
    this._push(timer);
    return timer;
  }

  clearTimeout(timer: unknown): void {
    if (timer) (timer as Timer).fn = null;
  }

  /** Number of timers still to run (a leak check: a destroyed node leaves none). */
  get pending(): number {
    let n = 0;
    for (const t of this._heap) if (t.fn) n++;
    return n;
  }

  /** Runs timers up to `until` (virtual ms), settling promises between instants. */
  async run(until = Infinity): Promise<void> {
    while (this._heap.length && this._heap[0]!.at <= until) {
      this._step();
      await yieldToEventLoop();
    }
    if (until !== Infinity && until > this._now) this._now = until;
  }

  /** Runs timers until `p` settles (or no timer is left), then returns its outcome. */
  async until<T>(p: Promise<T>): Promise<T> {
    let done = false;
    const settled = p.finally(() => { done = true; });
    // Handled here too: a rejection while timers run is the caller's result, not an unhandled one.
    settled.catch(() => {});
    await yieldToEventLoop();
    while (!done && this._heap.length) {
      this._step();
      await yieldToEventLoop();
    }
    return settled;
  }

  /** Moves to the next instant and runs every timer due then. */
  private _step(): void {
    this._now = this._heap[0]!.at;
    while (this._heap.length && this._heap[0]!.at === this._now) {
      const t = this._pop();
      const fn = t.fn;
      t.fn = null;
      fn?.();
    }
  }

  private _push(t: Timer): void {
    const h = this._heap;
    h.push(t);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(t, h[p]!)) break;
      h[i] = h[p]!;
      i = p;
    }
    h[i] = t;
  }

  private _pop(): Timer {
    const h = this._heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= h.length) break;
        const r = l + 1;
        const c = r < h.length && before(h[r]!, h[l]!) ? r : l;
        if (!before(h[c]!, last)) break;
        h[i] = h[c]!;
        i = c;
      }
      h[i] = last;
    }
    return top;
  }
}

const before = (a: Timer, b: Timer) => a.at < b.at || (a.at === b.at && a.seq < b.seq);
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export interface SimOptions {
  seed?: number;
  /** One-way delay in virtual ms, uniform in [min, max]. */
  latency?: [number, number];
  /** One-way delay of each datagram between two hosts instead (sim_internet.ts: fixed per pair). */
  delay?: (from: string, to: string) => number;
  /** Probability that a datagram is lost. */
  loss?: number;
  /** Probability that a datagram is delivered twice. */
  duplicate?: number;
  /** Probability that a datagram is held back by up to another `max` latency (reordering it). */
  reorder?: number;
}

/**
 * A box between some hosts and the rest of the network: a NAT (src/dht/sim_nat.ts). It owns a
 * public host; its hosts' datagrams to anyone not behind it go through it both ways.
 */
export interface SimMiddlebox {
  /** A datagram from `from` (behind this box) leaving for `to`: the source the far end sees, or null to drop it. */
  outbound(from: SimTransport, to: Address): Address | null;
  /** A datagram from `from` arriving at this box's public host: the host behind it that gets it, or null to drop it. */
  inbound(to: Address, from: Address): SimTransport | null;
}

/** The simulated network: addresses 10.x.y.z:6881, one per transport. */
export class SimNetwork {
  readonly clock: VirtualClock;
  readonly random: () => number;
  readonly stats = { sent: 0, delivered: 0, lost: 0, duplicated: 0, undeliverable: 0 };
  latency: [number, number];
  delay: ((from: string, to: string) => number) | null;
  loss: number;
  duplicate: number;
  reorder: number;
  private readonly _hosts = new Map<string, SimTransport>();
  /** Middleboxes by their public host; empty unless NATs are simulated (the plain path never looks). */
  private readonly _boxes = new Map<string, SimMiddlebox>();
  private _next = 1;

  constructor(opts: SimOptions = {}, clock = new VirtualClock()) {
    this.clock = clock;
    this.random = seededRandom(opts.seed ?? 1);
    this.latency = opts.latency ?? [5, 50];
    this.delay = opts.delay ?? null;
    this.loss = opts.loss ?? 0;
    this.duplicate = opts.duplicate ?? 0;
    this.reorder = opts.reorder ?? 0;
  }

  /** A new transport at the next free address (or the given one). */
  transport(host?: string): SimTransport {
    host ??= hostOf(this._next++);
    if (this._hosts.has(host)) throw new RangeError(`Address "${host}" is in use`);
    const t = new SimTransport(this, host);
    this._hosts.set(host, t);
    return t;
  }

  /** Gives `box` a public host of its own (the next free address); returns it. */
  addMiddlebox(box: SimMiddlebox): string {
    const host = hostOf(this._next++);
    if (this._hosts.has(host)) throw new RangeError(`Address "${host}" is in use`);
    this._boxes.set(host, box);
    return host;
  }

  get size(): number {
    return this._hosts.size;
  }

  /** Takes a host off the network (its datagrams vanish both ways) or puts it back. */
  setDown(host: string, down: boolean): void {
    const t = this._hosts.get(host);
    if (t) t.down = down;
  }

  /** Churn: takes a random `fraction` of the live hosts down; returns them. */
  churn(fraction: number): string[] {
    const live = [...this._hosts.values()].filter((t) => !t.down);
    const out: string[] = [];
    for (const t of live) {
      if (this.random() < fraction) {
        t.down = true;
        out.push(t.host);
      }
    }
    return out;
  }

  /** @internal */
  _send(buf: Uint8Array, from: SimTransport, to: Address): void {
    this.stats.sent++;
    if (from.down) return;
    let src: Address = { host: from.host, port: SIM_PORT };
    // Behind a box, translated at once (a datagram lost later still made its mapping), unless
    // it stays on the LAN.
    if (from.box && this._hosts.get(to.host)?.box !== from.box) {
      const translated = from.box.outbound(from, to);
      if (!translated) return;
      src = translated;
    }
    if (this.loss && this.random() < this.loss) {
      this.stats.lost++;
      return;
    }
    this._schedule(buf, src, to);
    if (this.duplicate && this.random() < this.duplicate) {
      this.stats.duplicated++;
      this._schedule(buf, src, to);
    }
  }

  private _schedule(buf: Uint8Array, src: Address, to: Address): void {
    const [min, max] = this.latency;
    let delay = this.delay ? this.delay(src.host, to.host) : min + this.random() * (max - min);
    if (this.reorder && this.random() < this.reorder) delay += this.random() * max;
    this.clock.setTimeout(() => {
      let dst = to.port === SIM_PORT ? this._hosts.get(to.host) : undefined;
      // A host behind a box is reachable at its private address from its own LAN only.
      if (dst?.box && this._hosts.get(src.host)?.box !== dst.box) dst = undefined;
      else if (!dst && this._boxes.size) dst = this._boxes.get(to.host)?.inbound(to, src) ?? undefined;
      if (!dst || dst.down || !dst.handler) {
        this.stats.undeliverable++;
        return;
      }
      this.stats.delivered++;
      dst.handler(buf, src);
    }, delay);
  }

  /** @internal */
  _remove(t: SimTransport): void {
    if (this._hosts.get(t.host) === t) this._hosts.delete(t.host);
  }
}

export const SIM_PORT = 6881;
const hostOf = (n: number) => `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;

export class SimTransport implements Transport {
  readonly host: string;
  down = false;
  /** The NAT it sits behind (set by src/dht/sim_nat.ts), or null: on the open network. */
  box: SimMiddlebox | null = null;
  /** @internal */
  handler: ((buf: Uint8Array, from: Address) => void) | null = null;
  private readonly _net: SimNetwork;

  constructor(net: SimNetwork, host: string) {
    this._net = net;
    this.host = host;
  }

  send(buf: Uint8Array, to: Address): void {
    this._net._send(buf, this, to);
  }

  onMessage(cb: (buf: Uint8Array, from: Address) => void): void {
    this.handler = cb;
  }

  address(): Address {
    return { host: this.host, port: SIM_PORT };
  }

  close(): void {
    this.handler = null;
    this._net._remove(this);
  }
}
