// NATs for the simulated network (sim.ts), so that hundreds of peers can sit behind home routers
// in virtual time. The vocabulary is RFC 4787's: a mapping is endpoint-independent (one public port
// per private socket, whatever the destination: a "cone") or address-and-port-dependent (a new
// public port per destination: "symmetric"); filtering lets in datagrams from the remote address
// a mapping has sent to ("address-restricted") or only from that exact address and port
// ("port-restricted"). What the model leaves out, on purpose: hairpinning (a datagram to the
// box's own public address is dropped, as many home routers do: that is why a record lists LAN
// addresses), double NAT, and port preservation (the sim gives every host the same port).
import type { SimMiddlebox, SimNetwork, SimTransport } from "./sim.ts";
import type { Address } from "./transport.ts";

export type NatMapping = "endpoint-independent" | "address-and-port-dependent";
export type NatFiltering = "address" | "address-and-port";

export interface NatOptions {
  /** Default endpoint-independent (a cone). */
  mapping?: NatMapping;
  /** Default address-and-port (what Linux's conntrack does). */
  filtering?: NatFiltering;
  /** A mapping dies this long after its last datagram either way (default 30 s: Linux's
   * nf_conntrack_udp_timeout for a flow without replies; home routers use 30 s to a few minutes). */
  timeoutMs?: number;
}

/** Named shapes, from the NAT lab's Linux routers (test/nat/lab.ts). */
export const CONE: NatOptions = { mapping: "endpoint-independent", filtering: "address-and-port" };
export const SYMMETRIC: NatOptions = { mapping: "address-and-port-dependent", filtering: "address-and-port" };

const DEFAULT_TIMEOUT_MS = 30_000;
const FIRST_PORT = 1024;
const PORTS = 65536 - FIRST_PORT;
/** Hosts per box: the last octet of 172.x.y.2 … 172.x.y.254. */
const LAN_SIZE = 253;
const MAX_BOXES = 16 * 256;

interface Mapping {
  readonly key: string;
  readonly host: SimTransport;
  readonly port: number;
  /** Remotes let in (by filter key), each until its own expiry: a flow of its own, as conntrack keeps. */
  readonly flows: Map<string, number>;
  /** The latest expiry of any flow: past it, the mapping and its port are gone. */
  expires: number;
  /** Dead flows are swept when this many are held (then twice the live ones): amortised O(1). */
  sweepAt: number;
}
const FIRST_SWEEP = 64;

const boxCount = new WeakMap<SimNetwork, number>();

export class SimNat implements SimMiddlebox {
  /** The address the rest of the network sees for every host behind it. */
  readonly publicHost: string;
  readonly mapping: NatMapping;
  readonly filtering: NatFiltering;
  readonly timeoutMs: number;
  readonly stats = { mappings: 0, expired: 0, filtered: 0, hairpin: 0 };
  private readonly _net: SimNetwork;
  private readonly _lan: string;
  private _hosts = 0;
  private _nextPort: number;
  private readonly _bySource = new Map<string, Mapping>();
  private readonly _byPort = new Map<number, Mapping>();

  constructor(net: SimNetwork, opts: NatOptions = {}) {
    const n = boxCount.get(net) ?? 0;
    if (n >= MAX_BOXES) throw new RangeError(`At most ${MAX_BOXES} NATs per simulated network`);
    boxCount.set(net, n + 1);
    this._net = net;
    this._lan = `172.${16 + (n >> 8)}.${n & 255}`;
    this.mapping = opts.mapping ?? "endpoint-independent";
    this.filtering = opts.filtering ?? "address-and-port";
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this._nextPort = FIRST_PORT + Math.floor(net.random() * PORTS);
    this.publicHost = net.addMiddlebox(this);
  }

  /** A new host on this NAT's LAN, at a private address (172.16.0.0/12). */
  host(): SimTransport {
    if (this._hosts >= LAN_SIZE) throw new RangeError(`At most ${LAN_SIZE} hosts behind one NAT`);
    const t = this._net.transport(`${this._lan}.${2 + this._hosts++}`);
    t.box = this;
    return t;
  }

  /** Live mappings (expired ones are dropped as they are met, so this may count a few dead ones). */
  get size(): number {
    return this._byPort.size;
  }

  outbound(from: SimTransport, to: Address): Address | null {
    if (to.host === this.publicHost) {
      this.stats.hairpin++;
      return null;
    }
    const now = this._net.clock.now();
    const source = this.mapping === "endpoint-independent" ? from.host : `${from.host}>${to.host}:${to.port}`;
    let m = this._live(this._bySource.get(source), now);
    if (!m) {
      const port = this._freePort(now);
      if (port === undefined) return null;
      m = { key: source, host: from, port, flows: new Map(), expires: 0, sweepAt: FIRST_SWEEP };
      this._bySource.set(source, m);
      this._byPort.set(port, m);
      this.stats.mappings++;
    }
    this._refresh(m, this._filterKey(to), now);
    return { host: this.publicHost, port: m.port };
  }

  inbound(to: Address, from: Address): SimTransport | null {
    const now = this._net.clock.now();
    const m = this._live(this._byPort.get(to.port), now);
    const key = this._filterKey(from);
    const until = m?.flows.get(key);
    if (!m || until === undefined || until < now) {
      this.stats.filtered++;
      return null;
    }
    this._refresh(m, key, now);
    return m.host;
  }

  private _filterKey(a: Address): string {
    return this.filtering === "address" ? a.host : `${a.host}:${a.port}`;
  }

  private _refresh(m: Mapping, key: string, now: number): void {
    const until = now + this.timeoutMs;
    m.flows.set(key, until);
    if (until > m.expires) m.expires = until;
    if (m.flows.size >= m.sweepAt) {
      for (const [k, t] of m.flows) if (t < now) m.flows.delete(k);
      m.sweepAt = Math.max(FIRST_SWEEP, 2 * m.flows.size);
    }
  }

  /** `m` if it has not expired; an expired one is removed (its port becomes free). */
  private _live(m: Mapping | undefined, now: number): Mapping | undefined {
    if (!m || m.expires >= now) return m;
    this._bySource.delete(m.key);
    this._byPort.delete(m.port);
    this.stats.expired++;
    return undefined;
  }

  /** The next port not held by a live mapping (ports go round, as on a real NAT's pool). */
  private _freePort(now: number): number | undefined {
    for (let i = 0; i < PORTS; i++) {
      const port = this._nextPort;
      this._nextPort = port + 1 >= 65536 ? FIRST_PORT : port + 1;
      if (!this._live(this._byPort.get(port), now)) return port;
    }
    return undefined;
  }
}
