// KRPC transactions: ids, timeouts, retries, bounded concurrency. A reply completes a transaction
// only if it comes from the address the query went to and, when we know whom we asked, carries
// that node's id.
import type { BDict } from "../bencode.ts";
import { MAX_INFLIGHT, QUERY_TIMEOUT } from "./constants.ts";
import { encodeError, encodeQuery, encodeResponse, type Message, queryWithTid } from "./krpc.ts";
import type { Address, Clock, Transport } from "./transport.ts";

/** Why a query failed: a KRPC error reply (`code` ≥ 200), a timeout, or an unexpected node id. */
export class QueryError extends Error {
  override readonly name = "QueryError";
  readonly code: number | "timeout" | "unexpected-id" | "closed";
  constructor(code: QueryError["code"], message: string) {
    super(message);
    this.code = code;
  }
}

export interface Reply {
  r: BDict;
  id: Uint8Array;
  /** BEP 42: our address as the responder sees it. */
  ip: Address | null;
  /** BEP 44 `r.v`, as its exact bencoding (krpc.ts). */
  value: Uint8Array | undefined;
  from: Address;
  rtt: number;
}

export interface QueryOptions {
  /** Our node id, sent as `a.id` (kept apart from `a`, so that one `a` serves a whole lookup). */
  id?: Uint8Array;
  /** The node id we expect to answer (known from a `nodes` list or our table). */
  expect?: Uint8Array | undefined;
  /** Resends after a timeout (same transaction id, so a late first answer still counts). */
  retries?: number;
}

/** A query encoded once with a blank transaction id, for every query sent with the same `a`. */
interface Template {
  q: string;
  id: Uint8Array | undefined;
  readOnly: boolean;
  buf: Uint8Array;
}

interface Pending {
  tid: number;
  to: Address;
  expect: Uint8Array | undefined;
  buf: Uint8Array;
  retries: number;
  sentAt: number;
  timer: unknown;
  resolve: (reply: Reply) => void;
  reject: (err: QueryError) => void;
}

export interface RpcOptions {
  transport: Transport;
  clock: Clock;
  timeout?: number;
  maxInflight?: number;
  /** BEP 43: mark our queries `ro`, so that nobody adds us to a routing table. */
  readOnly?: boolean;
}

export class Rpc {
  readonly timeout: number;
  readonly maxInflight: number;
  /** BEP 43: our queries carry `ro: 1` and we answer none (a node behind NAT turns it on). */
  readOnly: boolean;
  /** Counters for stats and benchmarks. */
  queries = 0;
  timeouts = 0;
  private readonly _transport: Transport;
  private readonly _clock: Clock;
  private readonly _pending = new Map<number, Pending>();
  /** By `a`: a lookup sends the same body to every node, so it is encoded once (the caller must not change `a`). */
  private _templates: WeakMap<BDict, Template> | null = null;
  private _queue: (() => void)[] = [];
  private readonly _tids = new Uint16Array(64);
  private _tidsLeft = 0;
  private _closed = false;

  constructor(opts: RpcOptions) {
    this._transport = opts.transport;
    this._clock = opts.clock;
    this.timeout = opts.timeout ?? QUERY_TIMEOUT;
    // Transaction ids are 16 bits: far more of them than queries in flight.
    this.maxInflight = Math.min(opts.maxInflight ?? MAX_INFLIGHT, 0x4000);
    this.readOnly = opts.readOnly ?? false;
  }

  get inflight(): number {
    return this._pending.size;
  }

  /** Sends a query and resolves with the reply; rejects with QueryError. */
  query(to: Address, q: string, a: BDict, opts: QueryOptions = {}): Promise<Reply> {
    if (this._closed) return Promise.reject(new QueryError("closed", "DHT node is closed"));
    return new Promise((resolve, reject) => {
      const send = () => this._send(to, q, a, opts, resolve, reject);
      if (this._pending.size < this.maxInflight) send();
      else this._queue.push(send);
    });
  }

  respond(to: Address, t: Uint8Array, r: BDict): Uint8Array {
    const buf = encodeResponse(t, r, to);
    this._transport.send(buf, to);
    return buf;
  }

  error(to: Address, t: Uint8Array, code: number, message: string): void {
    this._transport.send(encodeError(t, code, message, to), to);
  }

  /** Matches a parsed reply or error to its transaction. Returns false if it matched none. */
  settle(msg: Message, from: Address): boolean {
    if ((msg.y !== "r" && msg.y !== "e") || msg.t.length !== 2) return false;
    const p = this._pending.get((msg.t[0]! << 8) | msg.t[1]!);
    if (!p || p.to.host !== from.host || p.to.port !== from.port) return false;
    this._finish(p);
    if (msg.y === "e") {
      p.reject(new QueryError(msg.code, msg.message || `Error ${msg.code}`));
    } else if (p.expect && !equal(p.expect, msg.id)) {
      p.reject(new QueryError("unexpected-id", "Reply from an unexpected node id"));
    } else {
      p.resolve({ r: msg.r, id: msg.id, ip: msg.ip, value: msg.value, from, rtt: this._clock.now() - p.sentAt });
    }
    return true;
  }

  /** Fails every transaction in flight or queued. */
  destroy(): void {
    this._closed = true;
    this._queue = [];
    for (const p of [...this._pending.values()]) {
      this._finish(p);
      p.reject(new QueryError("closed", "DHT node is closed"));
    }
  }

  private _send(to: Address, q: string, a: BDict, opts: QueryOptions, resolve: Pending["resolve"], reject: Pending["reject"]): void {
    if (this._closed) return reject(new QueryError("closed", "DHT node is closed"));
    const tid = this._nextTid();
    const p: Pending = {
      tid, to, expect: opts.expect, retries: opts.retries ?? 0, resolve, reject,
      buf: queryWithTid(this._template(q, a, opts.id), tid),
      sentAt: this._clock.now(), timer: null,
    };
    this._pending.set(tid, p);
    this.queries++;
    this._transmit(p);
  }

  private _template(q: string, a: BDict, id: Uint8Array | undefined): Uint8Array {
    // Made on first use: most nodes of a simulation never query.
    const templates = (this._templates ??= new WeakMap());
    const t = templates.get(a);
    if (t && t.q === q && t.id === id && t.readOnly === this.readOnly) return t.buf;
    const buf = encodeQuery(new Uint8Array(2), q, id ? { ...a, id } : a, this.readOnly);
    templates.set(a, { q, id, readOnly: this.readOnly, buf });
    return buf;
  }

  private _transmit(p: Pending): void {
    p.timer = this._clock.setTimeout(() => this._expire(p), this.timeout);
    this._transport.send(p.buf, p.to);
  }

  private _expire(p: Pending): void {
    if (p.retries-- > 0) {
      this.queries++;
      return this._transmit(p);
    }
    this.timeouts++;
    this._finish(p);
    p.reject(new QueryError("timeout", "Query timed out"));
  }

  private _finish(p: Pending): void {
    this._clock.clearTimeout(p.timer);
    this._pending.delete(p.tid);
    const next = this._queue.shift();
    if (next) next();
  }

  /**
   * A random transaction id not in flight: an off-path attacker must guess it (and our address and
   * the node's) to forge a reply, where sequential ids would be predictable from one query seen.
   */
  private _nextTid(): number {
    for (;;) {
      if (this._tidsLeft === 0) {
        crypto.getRandomValues(this._tids);
        this._tidsLeft = this._tids.length;
      }
      const tid = this._tids[--this._tidsLeft]!;
      if (!this._pending.has(tid)) return tid;
    }
  }
}

export function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
