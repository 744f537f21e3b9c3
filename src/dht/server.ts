// The server side of a DHT node: one `_onVerb` per KRPC method (BEP 5, BEP 44), write tokens,
// storage quotas and rate limits. Protocol violations are answered with BEP error tuples, never
// thrown.
//
// Anti-amplification: a reply to an address that has not proved it receives our packets (it never
// answered a query of ours and sent no valid token) is at most 3× its query, error replies
// included, as QUIC bounds a server before address validation (RFC 9000 §8). Verified addresses
// get up to `limits.amplification` ×. Our own `get` queries are padded so that an item fits.
import { sha1 } from "@noble/hashes/legacy.js";
import { type BInput, Bencoded, isBytes, isInt } from "../bencode.ts";
import { immutableTarget, mutableTarget } from "../crypto/record.ts";
import { ERR, KEY_LENGTH, type Limits, MAX_SALT, MAX_VALUE, NODE_LENGTH, SIG_LENGTH, TOKEN_LENGTH, TOKEN_ROTATE } from "./constants.ts";
import { verifyItem } from "./item.ts";
import { encodeAddress, encodeError, encodeNodes, encodeResponse, isId, type Message } from "./krpc.ts";
import { RateLimiter, sourceKey } from "./ratelimit.ts";
import { equal } from "./rpc.ts";
import { Store, type StoredItem } from "./store.ts";
import type { RoutingTable } from "./table.ts";
import type { Address, Clock, Transport } from "./transport.ts";

export type Query = Extract<Message, { y: "q" }>;
export type BadQuery = Extract<Message, { y: "bad" }>;

export interface ServerOptions {
  transport: Transport;
  clock: Clock;
  limits: Limits;
  /** The node served: its id (which may change, BEP 42) and its routing table. */
  node: { readonly id: Uint8Array; readonly table: RoutingTable };
  /** Whether `from` answered a query of ours recently (then replies may exceed 3× the query). */
  answered: (from: Address) => boolean;
  /** Quotas per IP on loopback too (tests that play several hosts on 127.0.0.0/8). */
  restrictLocal: boolean;
}

/** Counters of queries not served. */
export interface Dropped {
  malformed: number;
  unmatched: number;
  limited: number;
  /** Replies not sent because even trimmed they exceeded the amplification bound. */
  oversized: number;
  internal: number;
}

const utf8 = new TextEncoder();
const METHODS = new Set(["ping", "find_node", "get_peers", "announce_peer", "get", "put"]);

export class DhtServer {
  readonly received: Record<string, number> = Object.create(null);
  readonly dropped: Dropped = { malformed: 0, unmatched: 0, limited: 0, oversized: 0, internal: 0 };
  private readonly _o: ServerOptions;
  private readonly _queryLimit: RateLimiter;
  private readonly _writeLimit: RateLimiter;
  private _storage: Store | null = null;
  private _secrets: { epoch: number; current: Uint8Array; previous: Uint8Array } | null = null;

  constructor(opts: ServerOptions) {
    this._o = opts;
    const l = opts.limits;
    this._queryLimit = new RateLimiter(l.queryBurst, l.queryRate, l.sources);
    this._writeLimit = new RateLimiter(l.writeBurst, l.writeRate, l.sources);
  }

  /** What we store for others (made on first use: most simulated nodes never store anything). */
  get store(): Store {
    return (this._storage ??= new Store(this._o.limits, () => this._o.node.id));
  }

  get storing(): Store | null {
    return this._storage;
  }

  /** Serves one query (or answers a broken one with 203). */
  handle(msg: Query | BadQuery, from: Address, size: number): void {
    if (!this._queryLimit.allow(this._source(from), this._o.clock.now())) {
      this.dropped.limited++;
      return;
    }
    const verified = this._verified(msg, from);
    const ctx: Ctx = { to: from, t: msg.t, size, verified };
    if (msg.y === "bad") return this._error(ctx, ERR.protocol, msg.message);
    const method = METHODS.has(msg.q) ? msg.q : "other";
    this.received[method] = (this.received[method] ?? 0) + 1;
    switch (msg.q) {
      case "ping": return this._reply(ctx, { id: this._o.node.id });
      case "find_node": return this._onFindNode(ctx, msg);
      case "get_peers": return this._onGetPeers(ctx, msg);
      case "announce_peer": return this._onAnnouncePeer(ctx, msg);
      case "get": return this._onGet(ctx, msg);
      case "put": return this._onPut(ctx, msg);
      default: return this._error(ctx, ERR.method, "Method Unknown");
    }
  }

  /** Expires stored items and peers. */
  sweep(now: number): void {
    this._storage?.sweep(now);
  }

  private _onFindNode(ctx: Ctx, msg: Query): void {
    const target = msg.a["target"];
    if (!isId(target)) return this._error(ctx, ERR.protocol, "Missing or bad target");
    this._reply(ctx, { id: this._o.node.id, nodes: this._nodes(target) });
  }

  private _onGetPeers(ctx: Ctx, msg: Query): void {
    const infoHash = msg.a["info_hash"];
    if (!isId(infoHash)) return this._error(ctx, ERR.protocol, "Missing or bad info_hash");
    const values = this.store.getPeers(infoHash, this._o.limits.valuesPerReply, this._o.clock.now());
    const r: R = { id: this._o.node.id, nodes: this._nodes(infoHash), token: this._token(ctx.to.host) };
    if (values.length) r["values"] = values;
    this._reply(ctx, r);
  }

  private _onAnnouncePeer(ctx: Ctx, msg: Query): void {
    const { info_hash: infoHash, token, port, implied_port: implied } = msg.a;
    const from = ctx.to;
    if (!isId(infoHash)) return this._error(ctx, ERR.protocol, "Missing or bad info_hash");
    if (!isBytes(token) || !this._validToken(token, from.host)) return this._error(ctx, ERR.protocol, "Bad token");
    // BEP 5: implied_port = 1 means "use the source port of this packet".
    const peerPort = implied === 1 ? from.port : port;
    if (typeof peerPort !== "number" || peerPort < 1 || peerPort > 65535) return this._error(ctx, ERR.protocol, "Missing or bad port");
    const peer = encodeAddress({ host: from.host, port: peerPort });
    if (!this._writeAllowed(from)) return;
    if (!peer || !this.store.addPeer(infoHash, peer, this._source(from), this._o.clock.now())) {
      return this._error(ctx, ERR.server, "Storage full");
    }
    this._reply(ctx, { id: this._o.node.id });
  }

  private _onGet(ctx: Ctx, msg: Query): void {
    const { target, seq } = msg.a;
    if (!isId(target)) return this._error(ctx, ERR.protocol, "Missing or bad target");
    const r: R = { id: this._o.node.id, nodes: this._nodes(target), token: this._token(ctx.to.host) };
    const item = this.store.getItem(target, this._o.clock.now());
    if (item) Object.assign(r, itemFields(item, isInt(seq) ? seq : undefined));
    this._reply(ctx, r);
  }

  private _onPut(ctx: Ctx, msg: Query): void {
    const { token, k, sig, seq, salt, cas } = msg.a;
    const from = ctx.to;
    const fail = (code: number, message: string) => this._error(ctx, code, message);
    if (!isBytes(token) || !this._validToken(token, from.host)) return fail(ERR.protocol, "Bad token");
    if (msg.value === undefined) return fail(ERR.protocol, "Missing v");
    // The value's bencoding as it came (krpc.ts), copied so that it does not hold the datagram.
    const raw = msg.value.slice();
    if (raw.length > MAX_VALUE) return fail(ERR.tooBig, "Message (v field) too big");
    if (!this._writeAllowed(from)) return;
    const now = this._o.clock.now();
    let target: Uint8Array;
    let item: StoredItem;
    if (k === undefined && sig === undefined) {
      target = immutableTarget(raw);
      item = { raw };
    } else {
      if (!isBytes(k) || k.length !== KEY_LENGTH) return fail(ERR.protocol, "Missing or bad k");
      if (!isBytes(sig) || sig.length !== SIG_LENGTH) return fail(ERR.protocol, "Missing or bad sig");
      if (!isInt(seq) || seq < 0) return fail(ERR.protocol, "Missing or bad seq");
      if (salt !== undefined && !isBytes(salt)) return fail(ERR.protocol, "Bad salt");
      if (salt && salt.length > MAX_SALT) return fail(ERR.saltTooBig, "Salt (salt field) too big");
      if (cas !== undefined && !isInt(cas)) return fail(ERR.protocol, "Bad cas");
      // BEP 44: verify before storing, with the salt (if any) in the signed buffer.
      if (!verifyItem({ k, sig, seq, raw, salt })) return fail(ERR.badSignature, "Invalid signature");
      target = mutableTarget(k, salt);
      const current = this.store.getItem(target, now);
      if (current?.seq !== undefined) {
        if (cas !== undefined && BigInt(cas) !== BigInt(current.seq)) return fail(ERR.cas, "CAS mismatch, re-read value and try again");
        if (seq < current.seq) return fail(ERR.seqTooLow, "Sequence number less than current");
        if (BigInt(seq) === BigInt(current.seq) && !equal(raw, current.raw)) {
          return fail(ERR.seqTooLow, "Sequence number equal to current with a different value");
        }
      }
      item = { raw, k: k.slice(), sig: sig.slice(), seq, ...(salt?.length ? { salt: salt.slice() } : {}) };
    }
    if (this.store.putItem(target, item, this._source(from), now) === "full") return fail(ERR.server, "Storage full");
    this._reply(ctx, { id: this._o.node.id });
  }

  /**
   * Sends a reply within the amplification bound: an item that cannot fit even without `nodes` is
   * left out (the token stays: a query that echoes it gets it all), then `nodes` are trimmed, then
   * `values`; if even that is too big, nothing is sent.
   */
  private _reply(ctx: Ctx, r: R): void {
    const budget = this._budget(ctx);
    let buf = encodeResponse(ctx.t, r, ctx.to);
    // Most replies fit whole (our padded gets do): one encoding. Else the item goes only if it cannot fit at all.
    if (buf.length > budget && r["v"] !== undefined && encodeResponse(ctx.t, { ...r, nodes: undefined, values: undefined }, ctx.to).length > budget) {
      r["v"] = r["k"] = r["sig"] = r["seq"] = undefined;
      buf = encodeResponse(ctx.t, r, ctx.to);
    }
    for (;;) {
      if (buf.length <= budget) return this._o.transport.send(buf, ctx.to);
      const nodes = r["nodes"];
      const values = r["values"];
      if (isBytes(nodes) && nodes.length) r["nodes"] = nodes.subarray(0, nodes.length - NODE_LENGTH);
      else if (Array.isArray(values) && values.length) values.pop();
      else {
        this.dropped.oversized++;
        return;
      }
      buf = encodeResponse(ctx.t, r, ctx.to);
    }
  }

  /** An error reply within the same bound: without its message if need be, else not at all. */
  private _error(ctx: Ctx, code: number, message: string): void {
    const budget = this._budget(ctx);
    for (const text of [message, ""]) {
      const buf = encodeError(ctx.t, code, text, ctx.to);
      if (buf.length <= budget) return this._o.transport.send(buf, ctx.to);
    }
    this.dropped.oversized++;
  }

  private _budget(ctx: Ctx): number {
    return ctx.size * (ctx.verified ? this._o.limits.amplification : this._o.limits.unverifiedAmplification);
  }

  /** The address proved it receives our packets: it answered us, or it echoes a token we gave it. */
  private _verified(msg: Query | BadQuery, from: Address): boolean {
    if (this._o.answered(from)) return true;
    const token = msg.y === "q" ? msg.a["token"] : undefined;
    return isBytes(token) && this._validToken(token, from.host);
  }

  private _nodes(target: Uint8Array): Uint8Array {
    return encodeNodes(this._o.node.table.closest(target, this._o.node.table.k));
  }

  private _source(from: Address): string {
    return sourceKey(from, this._o.restrictLocal);
  }

  private _writeAllowed(from: Address): boolean {
    if (this._writeLimit.allow(this._source(from), this._o.clock.now())) return true;
    this.dropped.limited++;
    return false;
  }

  // ---- write tokens (BEP 5): SHA-1(secret || IP), secret rotated every 5 min, previous accepted ----

  private _token(host: string, previous = false): Uint8Array {
    const s = this._rotate();
    const secret = previous ? s.previous : s.current;
    const ip = utf8.encode(host);
    const buf = new Uint8Array(secret.length + ip.length);
    buf.set(secret);
    buf.set(ip, secret.length);
    return sha1(buf).subarray(0, TOKEN_LENGTH);
  }

  private _validToken(token: Uint8Array, host: string): boolean {
    return equal(token, this._token(host)) || equal(token, this._token(host, true));
  }

  private _rotate(): NonNullable<DhtServer["_secrets"]> {
    const epoch = Math.floor(this._o.clock.now() / TOKEN_ROTATE);
    const s = this._secrets;
    if (s?.epoch === epoch) return s;
    const fresh = () => crypto.getRandomValues(new Uint8Array(16));
    this._secrets = { epoch, current: fresh(), previous: s && s.epoch === epoch - 1 ? s.current : fresh() };
    return this._secrets;
  }
}

type R = { [key: string]: BInput | undefined };

interface Ctx {
  to: Address;
  t: Uint8Array;
  size: number;
  verified: boolean;
}

/** The item fields of a get reply; the value is spliced in as stored (BEP 44: only if newer than `seq`). */
function itemFields(item: StoredItem, seq: number | bigint | undefined): R {
  const v = new Bencoded(item.raw);
  if (item.seq === undefined) return { v };
  if (seq !== undefined && item.seq <= seq) return { seq: item.seq };
  return { k: item.k, sig: item.sig, seq: item.seq, v };
}
