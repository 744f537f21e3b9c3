// The iterative lookup (BEP 5, Kademlia): queries toward the closest known nodes, ending as soon
// as the k closest nodes that answer have all answered.
//
// "continuous" (the default): every answer (or lateness) starts the next query at once, to the
// closest candidate not yet asked. α counts the queries in flight to nodes among the k closest
// candidates, as libtorrent's aggressive lookups do: a query to a node that closer answers pushed
// out of the k frees its slot. One such query more may be in flight (α + 1 in all): on the
// simulated internet (scripts/bench/dht_internet.bench.ts) that kept most of the time gained
// (first record p50 555 ms against 460 uncapped and 629 counting every query) for 20 queries per
// get against 23 and 19.
//
// A query unanswered past the node's short timeout (rtt.ts: SRTT + 4·RTTVAR, at most `slowAfter`),
// as libtorrent's, is "late": it frees its slot, the lookup stops waiting for it, and it no longer
// counts among the k closest unless it answers. The estimate covers nearly every live node's
// round trip, so waiting longer would mostly wait for the dead (30 % of contacts on Mainline): a
// lost datagram or a departed node costs an extra query and about one round trip, not a timeout.
//
// "rounds" is textbook Kademlia (Maymounkov & Mazières §2.3): α queries, wait until each answered
// or timed out, then the next α. It is kept for the simulator's side-by-side benchmark.
import type { BDict } from "../bencode.ts";
import { decodeNodes, type NodeInfo } from "./krpc.ts";
import type { Reply } from "./rpc.ts";
import { bytesKey } from "./store.ts";
import { RttEstimator } from "./rtt.ts";
import { compareDistance } from "./table.ts";
import { type Address, addressKey, type Clock } from "./transport.ts";

export interface Responder {
  node: NodeInfo;
  reply: Reply;
}

export interface LookupStats {
  /** Queries sent, answers received, queries that failed. */
  queries: number;
  responses: number;
  failures: number;
  /** Longest chain of queries, each to a node learned from the previous answer (≈ round trips). */
  rounds: number;
  ms: number;
}

export interface LookupResult {
  /** The k closest nodes that answered, closest first. */
  closest: Responder[];
  stats: LookupStats;
}

export interface LookupOptions {
  target: Uint8Array;
  q: string;
  a: BDict;
  /** Nodes to start from (our table's closest, saved nodes). */
  seeds: readonly NodeInfo[];
  /** Nodes whose id we do not know (bootstrap routers): queried at once. */
  unknown?: readonly Address[];
  /** Our own id, never queried. */
  self: Uint8Array;
  k: number;
  alpha: number;
  /** The most a query is awaited before it is late (continuous mode). */
  slowAfter: number;
  /** Nodes of one group (a /24) are queried once per lookup; null: no restriction for this address. */
  group?: (a: Address) => string | null;
  /** Round trips seen by this node so far (default: a fresh estimator for this lookup). */
  rtt?: RttEstimator;
  mode?: LookupMode;
  /** Sees every answer; returning true ends the lookup at once. */
  onReply?: (reply: Reply, node: NodeInfo) => boolean | void;
}

export type LookupMode = "continuous" | "rounds";

export type QueryFn = (to: Address, q: string, a: BDict, expect: Uint8Array | undefined) => Promise<Reply>;

const NEW = 0, ASKING = 1, ANSWERED = 2, FAILED = 3;

interface Candidate {
  node: NodeInfo;
  state: number;
  hop: number;
  /** In flight past the short timeout: holds no α slot, no longer awaited. */
  late: boolean;
  reply: Reply | null;
}

/** How many candidates a lookup remembers: enough to route around many dead nodes. */
const MAX_CANDIDATES = 64;

export function lookup(query: QueryFn, clock: Clock, opts: LookupOptions): Promise<LookupResult> {
  return new Promise((resolve) => new Lookup(query, clock, opts, resolve).start());
}

class Lookup {
  private readonly _query: QueryFn;
  private readonly _clock: Clock;
  private readonly _o: LookupOptions;
  private readonly _resolve: (r: LookupResult) => void;
  private readonly _list: Candidate[] = [];
  /** Every id seen (ours maps to null: never queried). */
  private readonly _ids = new Map<string, Candidate | null>();
  private readonly _asked = new Set<string>();
  private readonly _groups = new Set<string>();
  private readonly _inflight = new Set<{ timer: unknown }>();
  private readonly _start: number;
  private readonly _rtt: RttEstimator;
  private readonly _rounds: boolean;
  /** Queries in flight (late ones included). */
  private _pending = 0;
  private _done = false;
  private readonly _stats: LookupStats = { queries: 0, responses: 0, failures: 0, rounds: 0, ms: 0 };

  constructor(query: QueryFn, clock: Clock, opts: LookupOptions, resolve: (r: LookupResult) => void) {
    this._query = query;
    this._clock = clock;
    this._o = opts;
    this._resolve = resolve;
    this._start = clock.now();
    this._rtt = opts.rtt ?? new RttEstimator();
    this._rounds = opts.mode === "rounds";
  }

  start(): void {
    this._ids.set(bytesKey(this._o.self), null);
    for (const node of this._o.seeds) this._add(node, 0);
    for (const addr of this._o.unknown ?? []) {
      if (!this._asked.has(addressKey(addr)) && !this._groups.has(this._o.group?.(addr) ?? "")) this._send(addr, undefined, 0, null);
    }
    this._step();
  }

  private _add(node: NodeInfo, hop: number): Candidate | null {
    const key = bytesKey(node.id);
    if (this._ids.has(key)) return null;
    const list = this._list, target = this._o.target;
    if (list.length >= MAX_CANDIDATES && compareDistance(node.id, list[list.length - 1]!.node.id, target) >= 0) return null;
    let lo = 0, hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compareDistance(list[mid]!.node.id, node.id, target) < 0) lo = mid + 1;
      else hi = mid;
    }
    const c: Candidate = { node, state: NEW, hop, late: false, reply: null };
    this._ids.set(key, c);
    list.splice(lo, 0, c);
    if (list.length > MAX_CANDIDATES) {
      const dropped = list.pop()!;
      if (dropped.state === NEW) this._ids.delete(bytesKey(dropped.node.id));
    }
    return c;
  }

  /**
   * Starts queries, then checks the end: the k closest candidates that have not failed nor gone
   * late have all answered; or fewer exist and nothing is in flight any more (a late answer still
   * counts then: results never fall short of k because the machine was slow).
   *
   * Continuous: while fewer than α queries to the k closest candidates are in flight and not late
   * (and at most α + 1 in all), the closest unasked candidate is queried. Rounds: only once nothing
   * is in flight, the α closest unasked candidates among the k closest are queried together.
   */
  private _step(): void {
    if (this._done) return;
    const roundOpen = this._rounds && this._pending > 0;
    let inFlight = 0;
    for (const c of this._list) if (c.state === ASKING && !c.late) inFlight++;
    let active = 0;
    let considered = 0;
    let waiting = false;
    for (const c of this._list) {
      if (considered >= this._o.k) break;
      // One query per address and lookup: a liar cannot aim our queries at a victim.
      if (c.state === NEW && (this._asked.has(addressKey(c.node)) || this._groups.has(this._o.group?.(c.node) ?? ""))) c.state = FAILED;
      if (c.state === FAILED || (c.state === ASKING && c.late)) continue;
      considered++;
      if (c.state === ANSWERED) continue;
      waiting = true;
      if (c.state === ASKING) active++;
      else if (!roundOpen && active < this._o.alpha && inFlight <= this._o.alpha) {
        active++;
        inFlight++;
        this._send(c.node, c.node.id, c.hop, c);
      }
    }
    if (!waiting && (considered >= this._o.k || this._pending === 0)) this._finish();
  }

  /** Queries a candidate (or, with `c` null, a bootstrap address whose id we learn from its answer). */
  private _send(to: Address, expect: Uint8Array | undefined, hop: number, c: Candidate | null): void {
    this._asked.add(addressKey(to));
    const group = this._o.group?.(to);
    if (group) this._groups.add(group);
    if (c) c.state = ASKING;
    this._pending++;
    this._stats.queries++;
    this._stats.rounds = Math.max(this._stats.rounds, hop + 1);
    const q = { timer: null as unknown };
    if (!this._rounds) {
      // Textbook rounds wait for the RPC timeout; continuous lookups move on after the short one.
      q.timer = this._clock.setTimeout(() => {
        if (c) c.late = true;
        this._step();
      }, this._rtt.timeout(this._o.slowAfter));
    }
    this._inflight.add(q);
    const settle = (reply: Reply | null) => {
      this._clock.clearTimeout(q.timer);
      this._inflight.delete(q);
      this._pending--;
      if (this._done) return;
      if (!reply) {
        if (c) c.state = FAILED;
        this._stats.failures++;
        return this._step();
      }
      this._stats.responses++;
      this._rtt.sample(reply.rtt);
      const node = c?.node ?? { id: reply.id, host: to.host, port: to.port };
      const answered = c ?? this._bootstrapCandidate(node, hop);
      if (answered) {
        answered.node = node;
        answered.state = ANSWERED;
        answered.reply = reply;
      }
      this._absorb(reply, node, hop);
    };
    this._query(to, this._o.q, this._o.a, expect).then(settle, () => settle(null));
  }

  /** A bootstrap node that answered: a new candidate, or one learned meanwhile from another answer. */
  private _bootstrapCandidate(node: NodeInfo, hop: number): Candidate | null {
    const known = this._ids.get(bytesKey(node.id));
    if (known === undefined) return this._add(node, hop);
    return known && known.state !== ASKING ? known : null;
  }

  private _absorb(reply: Reply, node: NodeInfo, hop: number): void {
    // The answer is examined first: a get's first valid item is what its caller waits for, and
    // only one answer per get costs a signature check (the others carry the same item or none).
    // Sending the next queries first was measured no faster to the end of a lookup on loopback.
    if (this._o.onReply?.(reply, node) === true) return this._finish();
    const nodes = reply.r["nodes"];
    if (nodes instanceof Uint8Array) {
      for (const n of decodeNodes(nodes) ?? []) this._add(n, hop + 1);
    }
    this._step();
  }

  private _finish(): void {
    if (this._done) return;
    this._done = true;
    for (const q of this._inflight) this._clock.clearTimeout(q.timer);
    const closest: Responder[] = [];
    for (const c of this._list) {
      if (c.state === ANSWERED && c.reply) closest.push({ node: c.node, reply: c.reply });
      if (closest.length >= this._o.k) break;
    }
    this._stats.ms = this._clock.now() - this._start;
    this._resolve({ closest, stats: this._stats });
  }
}
