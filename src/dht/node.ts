// A BitTorrent Mainline DHT node: BEP 5 (ping, find_node, get_peers, announce_peer), BEP 44
// (get, put) and BEP 42 (the `ip` field, node ids tied to IPs), over any Transport and Clock.
//
// This file is the node's client side and its glue: iterative lookups (lookup.ts), the BEP 44
// get/put flows, table maintenance. Queries from others are served by server.ts; our address as
// others see it is voted in address.ts.
import { lookup as dns } from "node:dns/promises";
import { isIP } from "node:net";
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import { ChatError } from "../errors.ts";
import { type BDict, decode, isBytes } from "../bencode.ts";
import { ALPHA, ANSWERED, BOOTSTRAP, GET_PAD, K, LIMITS, type Limits, REFRESH_EVERY, TICK } from "./constants.ts";
import { AddressVotes, isPublicBound } from "./address.ts";
import { isLocal, nodeIdFor, validNodeId } from "./bep42.ts";
import { checkPutItem, type Item, parseItem, type PutItem, sameItem, validItem, verifyItem } from "./item.ts";
import { decodeAddress, type NodeInfo, parseMessage } from "./krpc.ts";
import { lookup, type LookupMode, type LookupResult, type LookupStats, type Responder } from "./lookup.ts";
import { RttEstimator } from "./rtt.ts";
import { QueryError, type Reply, Rpc } from "./rpc.ts";
import { DhtServer, type Dropped } from "./server.ts";
import { bytesKey } from "./store.ts";
import { type Contact, RoutingTable, type TableRules } from "./table.ts";
import { type Address, addressKey, type Clock, systemClock, type Transport } from "./transport.ts";

export interface DhtOptions extends TableRules {
  transport: Transport;
  clock?: Clock;
  /** Our node id (default: the one in `state`, else a BEP 42 id if bound to a public IP, else random). */
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
  /** End at the first valid item, mutable too, instead of looking on for the highest seq. */
  first?: boolean;
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
  /** Memory held by stored items (bytes, as the store counts it); items evicted for others; puts refused when full. */
  storedBytes: number;
  evicted: number;
  refusedPuts: number;
  /** Contacts the routing table refused (one per IP, /24 per bucket, BEP 42 ids). */
  refused: number;
  received: Record<string, number>;
  sent: number;
  timeouts: number;
  dropped: Dropped;
}

export class DhtNode {
  private _id: Uint8Array;
  private _table: RoutingTable;
  private readonly _rules: TableRules;
  /** The id was given (`opts.id`): never replaced by a BEP 42 one. */
  private readonly _fixedId: boolean;
  readonly transport: Transport;
  readonly clock: Clock;
  readonly k: number;
  readonly alpha: number;
  private readonly _rpc: Rpc;
  private readonly _server: DhtServer;
  private readonly _limits: Limits;
  private readonly _bootstrap: readonly Address[];
  private readonly _saved: NodeInfo[];
  private _resolved: Address[] | null = null;
  private readonly _resolve: (host: string) => Promise<string>;
  private readonly _slowAfter: number;
  private readonly _votes: AddressVotes;
  /** Addresses that answered a query of ours lately (most recent last): they get full-size replies. */
  private readonly _answered = new Set<string>();
  private readonly _lookupMode: LookupMode;
  /** Round trips of our lookups' answers: each lookup's short timeout starts from them. */
  private readonly _rtt = new RttEstimator();
  private readonly _pinging = new Set<string>();
  private _tick: unknown = null;
  private _closed = false;

  constructor(opts: DhtOptions) {
    this.transport = opts.transport;
    this.clock = opts.clock ?? systemClock;
    const bound = this.transport.address();
    this._fixedId = opts.id !== undefined;
    this._id = opts.id ?? (opts.state ? hexToBytes(opts.state.id) : null) ??
      (isPublicBound(bound) ? nodeIdFor(bound.host) : null) ?? crypto.getRandomValues(new Uint8Array(20));
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
    const rules: TableRules = this._rules = {
      ...(opts.restrictIps === undefined ? {} : { restrictIps: opts.restrictIps }),
      ...(opts.enforceNodeId === undefined ? {} : { enforceNodeId: opts.enforceNodeId }),
      restrictLocal: opts.restrictLocal ?? false,
    };
    this._table = this._newTable(this._id);
    this._votes = new AddressVotes(rules.restrictLocal);
    this._server = new DhtServer({
      transport: this.transport, clock: this.clock, limits: this._limits, node: this, restrictLocal: rules.restrictLocal!,
      answered: (from) => this._answered.has(addressKey(from)),
    });
    this._bootstrap = opts.bootstrap === false ? [] : opts.bootstrap ?? BOOTSTRAP;
    this._saved = (opts.state?.nodes ?? []).map((n) => ({ id: hexToBytes(n.id), host: n.host, port: n.port }));
    this._resolve = opts.resolve ?? (async (host) => (await dns(host, { family: 4 })).address);
    this.transport.onMessage((buf, from) => this.handle(buf, from));
    if (opts.maintenance !== false) this._schedule();
  }

  /** Our node id: given, saved, or made; replaced by a BEP 42 one once our public address is known. */
  get id(): Uint8Array {
    return this._id;
  }

  get table(): RoutingTable {
    return this._table;
  }

  address(): Address {
    return this.transport.address();
  }

  /**
   * BEP 43 read-only mode: queries marked `ro: 1`, none answered, so no routing table keeps us. A
   * node behind a NAT turns it on: unsolicited queries could not reach it, and one that reaches
   * its NAT first would take the port its hole punching needs (docs/PROTOCOL.md §8).
   */
  get readOnly(): boolean {
    return this._rpc.readOnly;
  }

  set readOnly(value: boolean) {
    this._rpc.readOnly = value;
  }

  /**
   * Our address as other nodes see it: the bound address if it is a public one, else the winner
   * of the BEP 42 `ip` votes of recent replies (address.ts), else null.
   */
  externalAddress(): Address | null {
    const bound = this.address();
    return isPublicBound(bound) ? bound : this._votes.winner();
  }

  /** The BEP 42 `ip` votes behind externalAddress(): each address and how many voter groups report it. */
  addressVotes(): { address: Address; voters: number }[] {
    return this._votes.tally();
  }

  // ---- incoming datagrams ------------------------------------------------------------------

  /** Handles one datagram (the transport's handler; public so a demultiplexer or a fuzzer can feed it). */
  handle(buf: Uint8Array, from: Address): void {
    if (this._closed) return;
    const msg = parseMessage(buf);
    if (!msg) {
      this._server.dropped.malformed++;
      return;
    }
    if (msg.y !== "q" && msg.y !== "bad") {
      if (!this._rpc.settle(msg, from)) this._server.dropped.unmatched++;
      return;
    }
    if (this._rpc.readOnly) return;
    // Handlers answer bad input with error tuples; this net only keeps a bug from killing the node.
    try {
      this._server.handle(msg, from, buf.length);
    } catch {
      this._server.dropped.internal++;
    }
    if (msg.y === "q" && !msg.ro) this._pingBack(msg.id, from);
  }

  // ---- client side ----------------------------------------------------------------------

  /** Queries a node; an answer makes it a verified contact, a failure counts against it. */
  private _query(to: Address, q: string, a: BDict, expect?: Uint8Array, retries = 0): Promise<Reply> {
    const p = this._rpc.query(to, q, a, { id: this.id, expect, retries });
    p.then(
      (reply) => {
        this.table.heard({ id: reply.id, host: to.host, port: to.port }, this.clock.now());
        this._remember(to);
        if (reply.ip && this._votes.vote(to, reply.ip)) this._checkId();
      },
      (err: QueryError) => {
        if (expect && typeof err.code !== "number") this.table.failed(expect);
      },
    );
    return p;
  }

  /**
   * BEP 42 "Bootstrapping": once the votes agree on a public address our id is not valid for, the
   * node takes an id that is (as libtorrent's update_node_id), so that enforcing nodes keep it in
   * their tables; its contacts move to a table around the new id.
   */
  private _checkId(): void {
    if (this._fixedId) return;
    const external = this.externalAddress();
    if (!external || (!this._rules.restrictLocal && isLocal(external.host)) || validNodeId(this._id, external.host)) return;
    const id = nodeIdFor(external.host);
    if (!id) return;
    const old = this._table;
    this._id = id;
    this._table = this._newTable(id);
    for (const c of old.all()) this._table.insert(c);
    this._table.refused = old.refused;
  }

  private _newTable(id: Uint8Array): RoutingTable {
    const table = new RoutingTable(id, this.k, this._rules);
    table.onStale = (stale, candidate) => this._pingStale(stale, candidate);
    return table;
  }

  private _remember(answered: Address): void {
    const key = addressKey(answered);
    this._answered.delete(key);
    this._answered.add(key);
    if (this._answered.size > ANSWERED) this._answered.delete(this._answered.values().next().value!);
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
      group: (addr) => this.table.searchGroup(addr),
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
    // Padding lets a node that never heard from us answer with an item within 3× the query (server.ts).
    const a: BDict = { target, seq: opts.seq, pad: GET_PAD };
    const res = await this._lookup(target, "get", a, (reply, node) => {
      const item = parseItem(reply.r, reply.value, opts.salt);
      if (!item) return;
      const done = (stopOnImmutable && item.seq === undefined) || opts.first === true;
      if (best && sameItem(item, best)) {
        from.push(node);
        return done;
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
      return done;
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
    this._server.sweep(now);
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
    // Nor one the table would refuse anyway (its id or address breaks the rules): no ping wasted.
    if (this._pinging.size >= 8 || this.table.get(id) || !this.table.hasRoom(id) || !this.table.admits({ id, ...from })) return;
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
      items: this._server.storing?.items ?? 0,
      torrents: this._server.storing?.torrents ?? 0,
      storedBytes: this._server.storing?.bytes ?? 0,
      evicted: this._server.storing?.evicted ?? 0,
      refusedPuts: this._server.storing?.refused ?? 0,
      refused: this.table.refused,
      received: { ...this._server.received },
      sent: this._rpc.queries,
      timeouts: this._rpc.timeouts,
      dropped: { ...this._server.dropped },
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
