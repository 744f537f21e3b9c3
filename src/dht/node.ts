// A BitTorrent Mainline DHT node: BEP 5 (ping, find_node, get_peers, announce_peer), BEP 44
// (get, put) and the BEP 42 `ip` field, over any Transport and Clock.
//
// Server side: one `_onVerb` per KRPC method; protocol violations are answered with BEP error
// tuples, never thrown. Client side: iterative lookups (lookup.ts) and the BEP 44 get/put flows.
import { lookup as dns } from "node:dns/promises";
import { isIP } from "node:net";
import { sha1 } from "@noble/hashes/legacy.js";
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import { ChatError } from "../errors.ts";
import { type BDict, decode, encode, isBytes, isInt } from "../bencode.ts";
import {
  ALPHA, BOOTSTRAP, ERR, K, KEY_LENGTH, LIMITS, type Limits, MAX_SALT, MAX_VALUE, NODE_LENGTH, REFRESH_EVERY, SIG_LENGTH, TICK,
  TOKEN_LENGTH, TOKEN_ROTATE,
} from "./constants.ts";
import { immutableTarget, mutableTarget } from "../crypto/record.ts";
import { checkPutItem, type Item, type PutItem, verifyItem } from "./item.ts";
import { decodeAddress, encodeAddress, encodeNodes, encodeResponse, isId, type Message, type NodeInfo, parseMessage } from "./krpc.ts";
import { lookup, type LookupMode, type LookupResult, type LookupStats, type Responder } from "./lookup.ts";
import { RateLimiter, sourceKey } from "./ratelimit.ts";
import { RttEstimator } from "./rtt.ts";
import { equal, QueryError, type Reply, Rpc } from "./rpc.ts";
import { bytesKey, Store } from "./store.ts";
import { type Contact, RoutingTable } from "./table.ts";
import { type Address, addressKey, type Clock, systemClock, type Transport } from "./transport.ts";

export interface DhtOptions {
  transport: Transport;
  clock?: Clock;
  /** Our node id (default: random, or the one in `state`). */
  id?: Uint8Array;
  /** Where to start: host:port list (default: the public Mainline routers); false for none. */
  bootstrap?: readonly Address[] | false;
  /** A saved routing table (`toJSON()`): its id is reused and its nodes seed the bootstrap. */
  state?: DhtState;
  k?: number;
  alpha?: number;
  /** Query timeout, and the most a lookup waits for an answer before moving on (ms; see rtt.ts). */
  timeout?: number;
  slowAfter?: number;
  /** How lookups pace their queries (lookup.ts); "rounds" only for comparisons. */
  lookup?: LookupMode;
  maxInflight?: number;
  limits?: Partial<Limits>;
  /** Periodic bucket refresh and storage expiry (default true). */
  maintenance?: boolean;
  /**
   * BEP 43 read-only node, for short-lived clients (one command, then exit): answers no query and
   * marks its own `ro`, so that other nodes do not fill their tables with a node about to leave.
   */
  readOnly?: boolean;
  /** Resolves bootstrap host names (default: node:dns). */
  resolve?: (host: string) => Promise<string>;
}

/** The routing table as JSON, to save in a state directory and restore on the next start. */
export interface DhtState {
  id: string;
  nodes: { id: string; host: string; port: number }[];
}

export interface GetOptions {
  /** Salt of a mutable item (not sent: it only enters the target and the signature). */
  salt?: Uint8Array;
  /** BEP 44 `seq`: ask nodes to send the value only if newer than this. */
  seq?: number | bigint;
  /** Extra check on each valid item (e.g. decrypt a record); false drops it, and the lookup goes on. */
  validate?: (item: Item) => boolean;
}

export interface GetResult {
  target: Uint8Array;
  /** The valid item with the highest seq (mutable) or the first valid one (immutable); null if none. */
  item: Item | null;
  /** Nodes that returned that item. */
  from: NodeInfo[];
  /** The closest nodes that answered. */
  nodes: NodeInfo[];
  /** Items dropped: wrong target, bad signature, or refused by `validate`. */
  rejected: number;
  stats: LookupStats;
}

export interface PutResult {
  target: Uint8Array;
  /** Nodes that confirmed storing the item. */
  stored: NodeInfo[];
  /** Nodes that refused it, with their BEP 44 error (e.g. 301 CAS mismatch, 302 old seq). */
  errors: { node: NodeInfo; code: number | string; message: string }[];
  stats: LookupStats;
}

export interface PeersResult {
  peers: Address[];
  nodes: NodeInfo[];
  stats: LookupStats;
}

export interface AnnounceResult extends PeersResult {
  announced: NodeInfo[];
}

/** Counters for `chat node --stats` and benchmarks. */
export interface DhtStats {
  id: string;
  address: Address;
  external: Address | null;
  nodes: number;
  items: number;
  torrents: number;
  received: Record<string, number>;
  sent: number;
  timeouts: number;
  dropped: { malformed: number; unmatched: number; limited: number; internal: number };
}

/** How many recent BEP 42 `ip` votes (one per voter IP) decide our external address. */
const VOTERS = 64;
const utf8 = new TextEncoder();
const METHODS = new Set(["ping", "find_node", "get_peers", "announce_peer", "get", "put"]);

export class DhtNode {
  readonly id: Uint8Array;
  readonly table: RoutingTable;
  readonly transport: Transport;
  readonly clock: Clock;
  readonly k: number;
  readonly alpha: number;
  private readonly _rpc: Rpc;
  private _storage: Store | null = null;
  private readonly _limits: Limits;
  private readonly _queryLimit: RateLimiter;
  private readonly _writeLimit: RateLimiter;
  private readonly _bootstrap: readonly Address[];
  private readonly _saved: NodeInfo[];
  private _resolved: Address[] | null = null;
  private readonly _resolve: (host: string) => Promise<string>;
  private readonly _slowAfter: number;
  private readonly _lookupMode: LookupMode;
  /** Round trips of our lookups' answers: each lookup's short timeout starts from them. */
  private readonly _rtt = new RttEstimator();
  private readonly _votes = new Map<string, Address>();
  private readonly _pinging = new Set<string>();
  private _secrets: { epoch: number; current: Uint8Array; previous: Uint8Array } | null = null;
  private _tick: unknown = null;
  private _closed = false;
  private readonly _received: Record<string, number> = Object.create(null);
  private readonly _dropped = { malformed: 0, unmatched: 0, limited: 0, internal: 0 };

  constructor(opts: DhtOptions) {
    this.transport = opts.transport;
    this.clock = opts.clock ?? systemClock;
    this.id = opts.id ?? (opts.state ? hexToBytes(opts.state.id) : crypto.getRandomValues(new Uint8Array(20)));
    if (this.id.length !== 20) throw new RangeError("Node id must be 20 bytes");
    this.k = opts.k ?? K;
    this.alpha = opts.alpha ?? ALPHA;
    this._limits = { ...LIMITS, ...opts.limits };
    this._rpc = new Rpc({
      transport: this.transport, clock: this.clock,
      ...(opts.timeout === undefined ? {} : { timeout: opts.timeout }),
      ...(opts.maxInflight === undefined ? {} : { maxInflight: opts.maxInflight }),
      readOnly: opts.readOnly ?? false,
    });
    this._slowAfter = opts.slowAfter ?? this._rpc.timeout / 2;
    this._lookupMode = opts.lookup ?? "continuous";
    this.table = new RoutingTable(this.id, this.k);
    this.table.onStale = (stale, candidate) => this._pingStale(stale, candidate);
    this._queryLimit = new RateLimiter(this._limits.queryBurst, this._limits.queryRate, this._limits.sources);
    this._writeLimit = new RateLimiter(this._limits.writeBurst, this._limits.writeRate, this._limits.sources);
    this._bootstrap = opts.bootstrap === false ? [] : opts.bootstrap ?? BOOTSTRAP;
    this._saved = (opts.state?.nodes ?? []).map((n) => ({ id: hexToBytes(n.id), host: n.host, port: n.port }));
    this._resolve = opts.resolve ?? (async (host) => (await dns(host, { family: 4 })).address);
    this.transport.onMessage((buf, from) => this.handle(buf, from));
    if (opts.maintenance !== false) this._schedule();
  }

  /** What we store for others (made on first use: most simulated nodes never store anything). */
  private get _store(): Store {
    return (this._storage ??= new Store(this.id, this._limits));
  }

  address(): Address {
    return this.transport.address();
  }

  /** Our address as other nodes see it: the majority of the BEP 42 `ip` fields of recent replies. */
  externalAddress(): Address | null {
    const tally = new Map<string, { addr: Address; n: number }>();
    let best: { addr: Address; n: number } | null = null;
    for (const addr of this._votes.values()) {
      const key = addressKey(addr);
      const t = tally.get(key) ?? { addr, n: 0 };
      t.n++;
      tally.set(key, t);
      if (!best || t.n > best.n) best = t;
    }
    return best?.addr ?? null;
  }

  // ---- incoming datagrams ------------------------------------------------------------------

  /** Handles one datagram (the transport's handler; public so a demultiplexer or a fuzzer can feed it). */
  handle(buf: Uint8Array, from: Address): void {
    if (this._closed) return;
    const msg = parseMessage(buf);
    if (!msg) {
      this._dropped.malformed++;
      return;
    }
    if (msg.y !== "q" && msg.y !== "bad") {
      if (!this._rpc.settle(msg, from)) this._dropped.unmatched++;
      return;
    }
    if (this._rpc.readOnly) return;
    // Handlers answer bad input with error tuples; this net only keeps a bug from killing the node.
    try {
      this._onQuery(msg, from, buf.length);
    } catch {
      this._dropped.internal++;
    }
  }

  private _onQuery(msg: Extract<Message, { y: "q" | "bad" }>, from: Address, size: number): void {
    if (!this._queryLimit.allow(sourceKey(from), this.clock.now())) {
      this._dropped.limited++;
      return;
    }
    if (msg.y === "bad") return this._rpc.error(from, msg.t, ERR.protocol, msg.message);
    const method = METHODS.has(msg.q) ? msg.q : "other";
    this._received[method] = (this._received[method] ?? 0) + 1;
    this._dispatch(msg, from, size);
    if (!msg.ro) this._pingBack(msg.id, from);
  }

  private _dispatch(msg: Query, from: Address, size: number): void {
    switch (msg.q) {
      case "ping": return this._onPing(msg, from);
      case "find_node": return this._onFindNode(msg, from, size);
      case "get_peers": return this._onGetPeers(msg, from, size);
      case "announce_peer": return this._onAnnouncePeer(msg, from);
      case "get": return this._onGet(msg, from, size);
      case "put": return this._onPut(msg, from);
      default: return this._rpc.error(from, msg.t, ERR.method, "Method Unknown");
    }
  }

  private _onPing(msg: Query, from: Address): void {
    this._rpc.respond(from, msg.t, { id: this.id });
  }

  private _onFindNode(msg: Query, from: Address, size: number): void {
    const target = msg.a["target"];
    if (!isId(target)) return this._rpc.error(from, msg.t, ERR.protocol, "Missing or bad target");
    this._reply(from, msg, { id: this.id, nodes: this._nodes(target) }, size);
  }

  private _onGetPeers(msg: Query, from: Address, size: number): void {
    const infoHash = msg.a["info_hash"];
    if (!isId(infoHash)) return this._rpc.error(from, msg.t, ERR.protocol, "Missing or bad info_hash");
    const values = this._store.getPeers(infoHash, this._limits.valuesPerReply, this.clock.now());
    const r: BDict = { id: this.id, nodes: this._nodes(infoHash), token: this._token(from.host) };
    if (values.length) r["values"] = values;
    this._reply(from, msg, r, size);
  }

  private _onAnnouncePeer(msg: Query, from: Address): void {
    const { info_hash: infoHash, token, port, implied_port: implied } = msg.a;
    if (!isId(infoHash)) return this._rpc.error(from, msg.t, ERR.protocol, "Missing or bad info_hash");
    if (!isBytes(token) || !this._validToken(token, from.host)) return this._rpc.error(from, msg.t, ERR.protocol, "Bad token");
    // BEP 5: implied_port = 1 means "use the source port of this packet".
    const peerPort = implied === 1 ? from.port : port;
    if (typeof peerPort !== "number" || peerPort < 1 || peerPort > 65535) {
      return this._rpc.error(from, msg.t, ERR.protocol, "Missing or bad port");
    }
    const peer = encodeAddress({ host: from.host, port: peerPort });
    if (!this._writeAllowed(from)) return;
    if (!peer || !this._store.addPeer(infoHash, peer, sourceKey(from), this.clock.now())) {
      return this._rpc.error(from, msg.t, ERR.server, "Storage full");
    }
    this._rpc.respond(from, msg.t, { id: this.id });
  }

  private _onGet(msg: Query, from: Address, size: number): void {
    const { target, seq } = msg.a;
    if (!isId(target)) return this._rpc.error(from, msg.t, ERR.protocol, "Missing or bad target");
    const r: BDict = { id: this.id, nodes: this._nodes(target), token: this._token(from.host) };
    const item = this._store.getItem(target, this.clock.now());
    if (item?.seq !== undefined) {
      r["seq"] = item.seq;
      // BEP 44: a get with `seq` wants the value only if ours is newer.
      if (!(isInt(seq) && item.seq <= seq)) Object.assign(r, { k: item.k, sig: item.sig, v: item.v });
    } else if (item) {
      r["v"] = item.v;
    }
    this._reply(from, msg, r, size);
  }

  private _onPut(msg: Query, from: Address): void {
    const { token, v, k, sig, seq, salt, cas } = msg.a;
    const fail = (code: number, message: string) => this._rpc.error(from, msg.t, code, message);
    if (!isBytes(token) || !this._validToken(token, from.host)) return fail(ERR.protocol, "Bad token");
    if (v === undefined) return fail(ERR.protocol, "Missing v");
    const raw = encode(v);
    if (raw.length > MAX_VALUE) return fail(ERR.tooBig, "Message (v field) too big");
    if (!this._writeAllowed(from)) return;
    const now = this.clock.now();
    let target: Uint8Array;
    let item: Item;
    if (k === undefined && sig === undefined) {
      target = immutableTarget(raw);
      item = { v: decode(raw), raw };
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
      const current = this._store.getItem(target, now);
      if (current?.seq !== undefined) {
        if (cas !== undefined && BigInt(cas) !== BigInt(current.seq)) return fail(ERR.cas, "CAS mismatch, re-read value and try again");
        if (seq < current.seq) return fail(ERR.seqTooLow, "Sequence number less than current");
        if (BigInt(seq) === BigInt(current.seq) && !equal(raw, current.raw)) {
          return fail(ERR.seqTooLow, "Sequence number equal to current with a different value");
        }
      }
      item = { v: decode(raw), raw, k: k.slice(), sig: sig.slice(), seq, ...(salt?.length ? { salt: salt.slice() } : {}) };
    }
    if (this._store.putItem(target, item, sourceKey(from), now) === "full") return fail(ERR.server, "Storage full");
    this._rpc.respond(from, msg.t, { id: this.id });
  }

  /** Sends a reply at most `amplification` times the size of its query, trimming nodes then values. */
  private _reply(to: Address, msg: Query, r: BDict, querySize: number): void {
    const budget = querySize * this._limits.amplification;
    for (;;) {
      const buf = encodeResponse(msg.t, r, to);
      if (buf.length <= budget) return this.transport.send(buf, to);
      const nodes = r["nodes"];
      const values = r["values"];
      if (isBytes(nodes) && nodes.length) r["nodes"] = nodes.subarray(0, nodes.length - NODE_LENGTH);
      else if (Array.isArray(values) && values.length) values.pop();
      else return;
    }
  }

  private _nodes(target: Uint8Array): Uint8Array {
    return encodeNodes(this.table.closest(target, this.k));
  }

  private _writeAllowed(from: Address): boolean {
    if (this._writeLimit.allow(sourceKey(from), this.clock.now())) return true;
    this._dropped.limited++;
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

  private _rotate(): NonNullable<DhtNode["_secrets"]> {
    const epoch = Math.floor(this.clock.now() / TOKEN_ROTATE);
    const s = this._secrets;
    if (s?.epoch === epoch) return s;
    const fresh = () => crypto.getRandomValues(new Uint8Array(16));
    this._secrets = { epoch, current: fresh(), previous: s && s.epoch === epoch - 1 ? s.current : fresh() };
    return this._secrets;
  }

  // ---- client side ----------------------------------------------------------------------

  /** Queries a node; an answer makes it a verified contact, a failure counts against it. */
  private _query(to: Address, q: string, a: BDict, expect?: Uint8Array, retries = 0): Promise<Reply> {
    const p = this._rpc.query(to, q, { ...a, id: this.id }, { expect, retries });
    p.then(
      (reply) => {
        this.table.heard({ id: reply.id, host: to.host, port: to.port }, this.clock.now());
        if (reply.ip) this._vote(to.host, reply.ip);
      },
      (err: QueryError) => {
        if (expect && typeof err.code !== "number") this.table.failed(expect);
      },
    );
    return p;
  }

  private _vote(voter: string, ip: Address): void {
    this._votes.delete(voter);
    this._votes.set(voter, ip);
    if (this._votes.size > VOTERS) this._votes.delete(this._votes.keys().next().value!);
  }

  private async _lookup(target: Uint8Array, q: string, a: BDict, onReply?: (reply: Reply, node: NodeInfo) => boolean | void): Promise<LookupResult> {
    if (this._closed) throw new QueryError("closed", "DHT node is closed");
    let seeds: NodeInfo[] = this.table.closest(target, this.k);
    let unknown: Address[] = [];
    // Until the table has k contacts, also ask the saved nodes and the bootstrap routers.
    if (seeds.length < this.k) {
      seeds = [...seeds, ...this._saved];
      // Names resolve once; an empty result (offline, no DNS) is retried on the next lookup.
      if (!this._resolved?.length) this._resolved = await this._resolveAll(this._bootstrap);
      unknown = this._resolved;
    }
    return lookup((to, q2, a2, expect) => this._query(to, q2, a2, expect), this.clock, {
      target, q, a, seeds, unknown, self: this.id, k: this.k, alpha: this.alpha, slowAfter: this._slowAfter,
      rtt: this._rtt, mode: this._lookupMode,
      ...(onReply ? { onReply } : {}),
    });
  }

  /**
   * Joins the DHT: looks up our own id starting from the saved nodes and the bootstrap list.
   * Throws ChatError.network if nobody answered.
   */
  async bootstrap(): Promise<LookupResult> {
    const res = await this._lookup(this.id, "find_node", { target: this.id });
    if (!res.stats.responses && !this.table.size) {
      const tried = this._bootstrap.map(addressKey).join(", ") || "none";
      throw ChatError.network(`No bootstrap node answered (tried ${tried})`,
        "Check the network, or pass --bootstrap host:port of a reachable node (chat swarm starts a local network)");
    }
    return res;
  }

  private async _resolveAll(list: readonly Address[]): Promise<Address[]> {
    const out = await Promise.all(list.map(async (a) => {
      if (isIP(a.host)) return a;
      try {
        return { host: await this._resolve(a.host), port: a.port };
      } catch {
        return null;
      }
    }));
    return out.filter((a): a is Address => a !== null);
  }

  /**
   * BEP 5 bucket refresh: looks up a random id in every bucket that is not full or has gone
   * 15 minutes without news. Resolves with the number of lookups.
   */
  async refresh(): Promise<number> {
    const targets = this.table.refreshTargets(this.clock.now(), REFRESH_EVERY);
    await Promise.all(targets.map((t) => this.findNode(t).catch(() => null)));
    return targets.length;
  }

  /** BEP 5 ping. Resolves with the node's id and round-trip time. */
  async ping(to: Address): Promise<{ id: Uint8Array; rtt: number }> {
    const reply = await this._query(to, "ping", {}, undefined, 1);
    return { id: reply.id, rtt: reply.rtt };
  }

  /** Iterative find_node: the k closest nodes to `target` that answered. */
  async findNode(target: Uint8Array): Promise<{ nodes: NodeInfo[]; stats: LookupStats }> {
    const res = await this._lookup(target, "find_node", { target });
    return { nodes: res.closest.map((r) => r.node), stats: res.stats };
  }

  /** Iterative get_peers: peers announced for `infoHash`. */
  async getPeers(infoHash: Uint8Array): Promise<PeersResult> {
    const { responders, ...result } = await this._getPeersLookup(infoHash);
    return result;
  }

  /** get_peers, then announce_peer to the k closest nodes that gave a token (port 0: implied port). */
  async announcePeer(infoHash: Uint8Array, port = 0): Promise<AnnounceResult> {
    const { responders, ...result } = await this._getPeersLookup(infoHash);
    const announced: NodeInfo[] = [];
    await Promise.all(responders.map(async ({ node, reply }) => {
      const token = reply.r["token"];
      if (!isBytes(token)) return;
      try {
        await this._query(node, "announce_peer", { info_hash: infoHash, port, implied_port: port ? 0 : 1, token }, node.id);
        announced.push(node);
      } catch { /* not announced there */ }
    }));
    return { ...result, announced };
  }

  private async _getPeersLookup(infoHash: Uint8Array): Promise<PeersResult & { responders: Responder[] }> {
    const seen = new Map<string, Address>();
    const res = await this._lookup(infoHash, "get_peers", { info_hash: infoHash }, (reply) => {
      const values = reply.r["values"];
      if (!Array.isArray(values)) return;
      for (const v of values) {
        const peer = isBytes(v) && v.length === 6 ? decodeAddress(v) : null;
        if (peer?.port) seen.set(addressKey(peer), peer);
      }
    });
    return { peers: [...seen.values()], nodes: res.closest.map((r) => r.node), stats: res.stats, responders: res.closest };
  }

  /**
   * BEP 44 get. Each answer is checked: the key hashes to the target, the signature verifies,
   * then `validate`. The highest valid seq wins; an immutable get ends at the first valid value.
   */
  async get(target: Uint8Array, opts: GetOptions = {}): Promise<GetResult> {
    const { responders, ...result } = await this._getLookup(target, opts, true);
    return result;
  }

  private async _getLookup(target: Uint8Array, opts: GetOptions, stopOnImmutable: boolean): Promise<GetResult & { responders: Responder[] }> {
    let best: Item | null = null;
    let from: NodeInfo[] = [];
    let rejected = 0;
    const valid = new Set<string>();
    const a: BDict = { target, seq: opts.seq };
    const res = await this._lookup(target, "get", a, (reply, node) => {
      const item = parseItem(reply.r, opts.salt);
      if (!item) return;
      if (best && sameItem(item, best)) {
        from.push(node);
        return stopOnImmutable && item.seq === undefined;
      }
      // The same signed item comes back from many nodes: verify each distinct one once.
      const key = item.sig ? `${bytesKey(item.sig)}:${item.seq}:${bytesKey(item.raw)}` : "";
      if (!valid.has(key)) {
        if (!validItem(item, target) || (opts.validate && !opts.validate(item))) {
          rejected++;
          return;
        }
        if (key) valid.add(key);
      }
      if (!best || (item.seq !== undefined && best.seq !== undefined && item.seq > best.seq)) {
        best = item;
        from = [node];
      }
      return stopOnImmutable && item.seq === undefined;
    });
    return {
      target, item: best, from, nodes: res.closest.map((r) => r.node), rejected, stats: res.stats, responders: res.closest,
    };
  }

  /**
   * BEP 44 put of an item already signed by the caller: a get lookup collects write tokens from
   * the closest nodes, then the item goes to the k closest that gave one.
   */
  async put(input: PutItem): Promise<PutResult> {
    const { target, raw, mutable } = checkPutItem(input);
    if (mutable && !verifyItem({ k: input.k!, sig: input.sig!, seq: input.seq!, raw, salt: input.salt })) {
      throw new RangeError("Item signature does not verify: sign the BEP 44 buffer of salt, seq and v");
    }
    const got = await this._getLookup(target, input.salt ? { salt: input.salt } : {}, false);
    const v = decode(raw);
    const a: BDict = mutable
      ? { v, k: input.k, seq: input.seq, sig: input.sig, cas: input.cas, salt: input.salt?.length ? input.salt : undefined }
      : { v };
    const stored: NodeInfo[] = [];
    const errors: PutResult["errors"] = [];
    let queries = 0;
    await Promise.all(got.responders.map(async ({ node, reply }) => {
      const token = reply.r["token"];
      if (!isBytes(token)) return;
      queries++;
      try {
        await this._query(node, "put", { ...a, token }, node.id);
        stored.push(node);
      } catch (err) {
        const e = err as QueryError;
        errors.push({ node, code: e.code, message: e.message });
      }
    }));
    return { target, stored, errors, stats: { ...got.stats, queries: got.stats.queries + queries } };
  }

  // ---- maintenance ------------------------------------------------------------------------

  private _schedule(): void {
    this._tick = this.clock.setTimeout(() => {
      if (this._closed) return;
      this._maintain();
      this._schedule();
    }, TICK);
  }

  private _maintain(): void {
    const now = this.clock.now();
    this._store.sweep(now);
    if (!this.table.size) {
      if (this._bootstrap.length || this._saved.length) this.bootstrap().catch(() => {});
      return;
    }
    const [target] = this.table.refreshTargets(now, REFRESH_EVERY);
    if (target) this.findNode(target).catch(() => {});
  }

  /** A full bucket holds a questionable contact: ping it (twice), and if it is gone take the new one. */
  private _pingStale(stale: Contact, candidate: Contact): void {
    const key = bytesKey(stale.id);
    if (this._pinging.has(key) || this._closed) return;
    this._pinging.add(key);
    this._query(stale, "ping", {}, stale.id, 1).then(
      () => {},
      () => {
        this.table.remove(stale.id);
        this.table.insert(candidate);
      },
    ).finally(() => this._pinging.delete(key));
  }

  /** A node we do not know queried us: if its bucket has room, ping it, and it joins on answering. */
  private _pingBack(id: Uint8Array, from: Address): void {
    if (this._pinging.size >= 8 || this.table.get(id) || !this.table.hasRoom(id)) return;
    const key = bytesKey(id);
    if (this._pinging.has(key)) return;
    this._pinging.add(key);
    this._query(from, "ping", {}, id).catch(() => {}).finally(() => this._pinging.delete(key));
  }

  // ---- state, stats, shutdown -------------------------------------------------------------

  /** The routing table as JSON (id and contacts), to restore with `{ state }`. */
  toJSON(): DhtState {
    return {
      id: bytesToHex(this.id),
      nodes: this.table.all().map((c) => ({ id: bytesToHex(c.id), host: c.host, port: c.port })),
    };
  }

  stats(): DhtStats {
    return {
      id: bytesToHex(this.id),
      address: this.address(),
      external: this.externalAddress(),
      nodes: this.table.size,
      items: this._storage?.items ?? 0,
      torrents: this._storage?.torrents ?? 0,
      received: { ...this._received },
      sent: this._rpc.queries,
      timeouts: this._rpc.timeouts,
      dropped: { ...this._dropped },
    };
  }

  /** Stops timers, fails queries in flight, and closes the transport. */
  destroy(): void {
    if (this._closed) return;
    this._closed = true;
    this.clock.clearTimeout(this._tick);
    this._rpc.destroy();
    this.transport.close();
  }
}

type Query = Extract<Message, { y: "q" }>;

/** The item fields of a get reply, type-checked; null if there is no (well-formed) item. */
function parseItem(r: BDict, salt: Uint8Array | undefined): Item | null {
  const { v, k, sig, seq } = r;
  if (v === undefined) return null;
  const raw = encode(v);
  if (raw.length > MAX_VALUE) return null;
  if (k === undefined && sig === undefined) return { v, raw };
  if (!isBytes(k) || k.length !== KEY_LENGTH || !isBytes(sig) || sig.length !== SIG_LENGTH || !isInt(seq) || seq < 0) return null;
  return { v, raw, k, sig, seq, ...(salt?.length ? { salt } : {}) };
}

/** BEP 44: the key (and salt) or the value hashes to the target, and a mutable item's signature verifies. */
function validItem(item: Item, target: Uint8Array): boolean {
  if (!item.k || !item.sig || item.seq === undefined) return equal(immutableTarget(item.raw), target);
  return equal(mutableTarget(item.k, item.salt), target) && verifyItem({ k: item.k, sig: item.sig, seq: item.seq, raw: item.raw, salt: item.salt });
}

function sameItem(a: Item, b: Item): boolean {
  return equal(a.raw, b.raw) && a.seq === b.seq && (!a.sig || (!!b.sig && equal(a.sig, b.sig)));
}

/** Lowercase hex of bytes (ids and targets in JSON). */
export const toHex: (bytes: Uint8Array) => string = bytesToHex;
