// Virtual time and an in-memory datagram network for the session-layer suites: deterministic
// (seeded), with optional loss, duplication and reordering, and a tap on every datagram.
import { identityFromSeed, type Identity } from "../src/crypto/identity.ts";
import { seededRandom as prng } from "../src/dht/sim.ts";
import { type Address, SessionEndpoint, type SessionEndpointOptions } from "../src/wire/endpoint.ts";

/** The DHT simulator's seeded generator (mulberry32) serves the session-layer suites too. */
export { prng };

/** Seeded bytes, for endpoint indices and message ids. */
export function seededBytes(seed: number): (n: number) => Uint8Array {
  const next = prng(seed);
  return (n) => Uint8Array.from({ length: n }, () => Math.floor(next() * 256));
}

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/** A clock and timers that move only when told to. */
export class VirtualTime {
  now: number;
  #heap: Timer[] = [];
  #seq = 0;

  constructor(start = 1_700_000_000_000) {
    this.now = start;
  }

  readonly clock = (): number => this.now;

  readonly timers = {
    setTimeout: (fn: () => void, ms: number): unknown => {
      const timer: Timer = { at: this.now + Math.max(0, ms), seq: this.#seq++, fn, cancelled: false };
      this.#push(timer);
      return timer;
    },
    clearTimeout: (handle: unknown): void => {
      if (handle) (handle as Timer).cancelled = true;
    },
  };

  /** Timers not yet fired or cancelled. */
  get pending(): number {
    return this.#heap.filter((t) => !t.cancelled).length;
  }

  /** Fires every timer due up to now + ms, in order, letting promise callbacks run between them. */
  async advance(ms: number): Promise<void> {
    const end = this.now + ms;
    for (;;) {
      const top = this.#heap[0];
      if (!top || top.at > end) break;
      this.#pop();
      if (top.cancelled) continue;
      this.now = top.at;
      top.fn();
      await settle();
    }
    this.now = end;
    await settle();
  }

  /** Advances in steps until `done()` or `limit` ms have passed. */
  async until(done: () => boolean, limit = 60_000, step = 10): Promise<void> {
    const end = this.now + limit;
    while (!done() && this.now < end) await this.advance(step);
  }

  #push(timer: Timer): void {
    const h = this.#heap;
    h.push(timer);
    for (let i = h.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (!before(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  #pop(): void {
    const h = this.#heap;
    const last = h.pop()!;
    if (!h.length) return;
    h[0] = last;
    for (let i = 0; ; ) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && before(h[l]!, h[m]!)) m = l;
      if (r < h.length && before(h[r]!, h[m]!)) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
}

function before(a: Timer, b: Timer): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

/** Lets pending promise callbacks run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

export interface LinkOptions {
  loss?: number;
  duplicate?: number;
  /** Probability that a datagram is held back by an extra delay (so later ones overtake it). */
  reorder?: number;
  latency?: number;
  jitter?: number;
  seed?: number;
  /**
   * A socket receive buffer: at most this many datagrams on their way to one address at once;
   * more are dropped (counted in `overflows`), as a full buffer drops them. Default: unbounded.
   */
  receiveBuffer?: number;
}

export interface Datagram {
  from: Address;
  to: Address;
  data: Uint8Array;
  at: number;
}

/** An in-memory network of endpoints, keyed by "host:port". */
export class SimNet {
  readonly time: VirtualTime;
  readonly log: Datagram[] = [];
  /** Return false to drop a datagram (after it was logged). */
  filter: ((d: Datagram) => boolean) | undefined;
  /** Datagrams dropped by a full `receiveBuffer`. */
  overflows = 0;
  #nodes = new Map<string, (data: Uint8Array, from: Address) => void>();
  #opts: Required<LinkOptions>;
  #rand: () => number;
  /** Datagrams on their way, per destination. */
  #queued = new Map<string, number>();

  constructor(time: VirtualTime, opts: LinkOptions = {}) {
    this.time = time;
    this.#opts = { loss: 0, duplicate: 0, reorder: 0, latency: 5, jitter: 0, seed: 1, receiveBuffer: Infinity, ...opts };
    this.#rand = prng(this.#opts.seed);
  }

  attach(address: Address, receive: (data: Uint8Array, from: Address) => void): void {
    this.#nodes.set(key(address), receive);
  }

  detach(address: Address): void {
    this.#nodes.delete(key(address));
  }

  /** The send function of the node at `from`. */
  sender(from: Address): (data: Uint8Array, to: Address) => void {
    return (data, to) => this.transmit(from, to, data);
  }

  transmit(from: Address, to: Address, data: Uint8Array): void {
    const datagram = { from, to, data: data.slice(), at: this.time.now };
    this.log.push(datagram);
    if (this.filter && !this.filter(datagram)) return;
    const o = this.#opts;
    if (this.#rand() < o.loss) return;
    const copies = this.#rand() < o.duplicate ? 2 : 1;
    const dest = key(to);
    for (let i = 0; i < copies; i++) {
      let delay = o.latency + this.#rand() * o.jitter;
      if (this.#rand() < o.reorder) delay += o.latency * 4 + this.#rand() * 50;
      const queued = this.#queued.get(dest) ?? 0;
      if (queued >= o.receiveBuffer) {
        this.overflows++;
        continue;
      }
      this.#queued.set(dest, queued + 1);
      this.time.timers.setTimeout(() => {
        const left = (this.#queued.get(dest) as number) - 1;
        if (left) this.#queued.set(dest, left);
        else this.#queued.delete(dest);
        this.#nodes.get(dest)?.(datagram.data.slice(), from);
      }, delay);
    }
  }
}

function key(a: Address): string {
  return `${a.host}:${a.port}`;
}

/** A test identity from a one-byte seed. */
export function testIdentity(n: number): Identity {
  return identityFromSeed(new Uint8Array(32).fill(n));
}

export interface Node {
  identity: Identity;
  address: Address;
  endpoint: SessionEndpoint;
  inbox: { from: Uint8Array; text: string; id: Uint8Array; sentAt: number }[];
}

/** An endpoint on `net` at `127.0.0.<n>:7000`, collecting what it receives. */
export function node(net: SimNet, n: number, extra: Partial<SessionEndpointOptions> = {}): Node {
  const identity = testIdentity(n);
  const address = { host: `127.0.0.${n}`, port: 7000 };
  const inbox: Node["inbox"] = [];
  const endpoint = new SessionEndpoint({
    identity,
    send: net.sender(address),
    clock: net.time.clock,
    timers: net.time.timers,
    random: seededBytes(n * 7919),
    onMessage: (m) => inbox.push(m),
    ...extra,
  });
  net.attach(address, (data, from) => endpoint.receive(data, from));
  return { identity, address, endpoint, inbox };
}

/** Records the outcome of a send without awaiting it (virtual time must move first). */
export function track<T>(promise: Promise<T>): { value?: T; error?: unknown; done: boolean } {
  const r: { value?: T; error?: unknown; done: boolean } = { done: false };
  promise.then(
    (value) => Object.assign(r, { value, done: true }),
    (error) => Object.assign(r, { error, done: true }),
  );
  return r;
}

export const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
