// The routing table (BEP 5) on k-bucket, with k = 8. It does no I/O: when a full bucket has a
// questionable contact, it hands "ping this one" back to its owner through `onStale`.
//
// Two k-bucket defaults are replaced. Its arbiter lets a re-add from a new address replace a known
// contact (anyone could redirect a node id to themselves); ours keeps the incumbent unless the
// address is the same. Its closest() sorts by a float distance that cannot order 160-bit ids;
// ours walks the same tree and compares ids byte by byte.
//
// Admission rules against routing-table poisoning (libtorrent's `restrict_routing_ips` and
// `enforce_node_id`): one contact per IP (per IP and port on loopback, where every local process
// shares 127.0.0.1), at most 2 contacts of one /24 in a bucket, and a BEP 42 id for the contact's
// IP. The local network blocks of BEP 42 are exempt (loopback keeps one contact per IP and port),
// unless `restrictLocal`.
import KBucket from "k-bucket";
import { isLocal, isLoopback, subnet24, validNodeId } from "./bep42.ts";
import { GOOD_FOR, K, MAX_FAILS, PER_SUBNET_PER_BUCKET } from "./constants.ts";
import type { NodeInfo } from "./krpc.ts";
import type { Address } from "./transport.ts";
import { sourceKey } from "./ratelimit.ts";
import { equal } from "./rpc.ts";

/** A contact of the table. Contacts are immutable: a change replaces the object. */
export interface Contact extends NodeInfo {
  /** When it last answered one of our queries (clock ms). */
  readonly seen: number;
  /** Queries that failed in a row since. */
  readonly fails: number;
}

type Bucket = KBucket<Contact>["root"];

/** Who may enter the table (all on by default). */
export interface TableRules {
  /** One contact per IP (per IP and port on loopback), at most 2 of one /24 per bucket. */
  restrictIps?: boolean;
  /** BEP 42: a contact's id must be valid for its IP. */
  enforceNodeId?: boolean;
  /**
   * Apply the rules to loopback and local-network addresses as to public ones (BEP 42 ids, one
   * contact per IP, the /24 rule): for tests that play several hosts on 127.0.0.0/8.
   */
  restrictLocal?: boolean;
}

export class RoutingTable {
  readonly id: Uint8Array;
  readonly k: number;
  /** Called when a full bucket should ping `stale` and, if it is gone, take `candidate`. */
  onStale: ((stale: Contact, candidate: Contact) => void) | null = null;
  /** Contacts refused by the rules (stats). */
  refused = 0;
  private readonly _kb: KBucket<Contact>;
  private readonly _rules: Required<TableRules>;
  /** sourceKey (IP, or IP:port on loopback) → the contact there. */
  private readonly _byIp = new Map<string, Contact>();
  private _now = 0;

  constructor(id: Uint8Array, k = K, rules: TableRules = {}) {
    this.id = id;
    this.k = k;
    this._rules = { restrictIps: true, enforceNodeId: true, restrictLocal: false, ...rules };
    this._kb = new KBucket<Contact>({
      localNodeId: id,
      numberOfNodesPerKBucket: k,
      numberOfNodesToPing: k,
      arbiter: (incumbent, candidate) =>
        incumbent.host === candidate.host && incumbent.port === candidate.port ? candidate : incumbent,
    });
    this._kb.on("ping", (contacts: Contact[], candidate: Contact) => this._onFull(contacts, candidate));
    const index = (c: Contact) => {
      const key = this._ipKey(c);
      if (key !== null) this._byIp.set(key, c);
    };
    this._kb.on("added", index);
    this._kb.on("updated", (_old: Contact, c: Contact) => index(c));
    this._kb.on("removed", (c: Contact) => {
      const key = this._ipKey(c);
      const there = key === null ? undefined : this._byIp.get(key);
      if (there && equal(there.id, c.id)) this._byIp.delete(key!);
    });
  }

  get size(): number {
    return this._kb.count();
  }

  /** A node answered one of our queries: add it, or refresh it (only from the same address). */
  heard(node: NodeInfo, now: number): void {
    this._now = now;
    this.insert({ id: node.id, host: node.host, port: node.port, seen: now, fails: 0 });
  }

  /** Adds a contact object as is, if the rules admit it. Only for verified contacts (and simulations that share them). */
  insert(contact: Contact): void {
    if (equal(contact.id, this.id)) return;
    if (!this.admits(contact)) {
      this.refused++;
      return;
    }
    this._kb.add(contact);
  }

  /** Whether the rules let this node in (a known id at its known address always may: a refresh). */
  admits(node: NodeInfo): boolean {
    const exempt = !this._rules.restrictLocal && isLocal(node.host);
    if (this._rules.enforceNodeId && !exempt && !validNodeId(node.id, node.host)) return false;
    const key = this._ipKey(node);
    if (key === null) return true;
    const there = this._byIp.get(key);
    if (there) return equal(there.id, node.id);
    if (exempt) return true;
    // libtorrent's restrict_routing_ips: nodes of one /24 in one bucket are likely one operator.
    const subnet = subnet24(node.host);
    let same = 0;
    for (const c of this._bucketOf(node.id).contacts!) if (subnet24(c.host) === subnet && ++same >= PER_SUBNET_PER_BUCKET) return false;
    return true;
  }

  /** A query to this contact failed; after MAX_FAILS in a row it is dropped (BEP 5: "try once more"). */
  failed(id: Uint8Array): void {
    const c = this._kb.get(id);
    if (!c) return;
    if (c.fails + 1 >= MAX_FAILS) this._kb.remove(id);
    else this._kb.add({ ...c, fails: c.fails + 1 });
  }

  remove(id: Uint8Array): void {
    this._kb.remove(id);
  }

  get(id: Uint8Array): Contact | null {
    return this._kb.get(id);
  }

  all(): Contact[] {
    return this._kb.toArray();
  }

  /** Whether a contact with this id could join without evicting anyone. */
  hasRoom(id: Uint8Array): boolean {
    const node = this._bucketOf(id);
    return node.contacts!.length < this.k || !node.dontSplit;
  }

  private _bucketOf(id: Uint8Array): Bucket {
    let node = this._kb.root;
    for (let bit = 0; !node.contacts; bit++) node = (id[bit >> 3]! & (0x80 >> (bit & 7))) ? node.right : node.left;
    return node;
  }

  /**
   * The key of the one-contact-per-IP rule, or null where it does not apply: rules off, or a LAN
   * address (no Internet host can answer from one; and the simulator's 100,000 nodes, all on
   * 10/8, then need no index). Loopback keeps the rule per IP and port.
   */
  private _ipKey(node: NodeInfo): string | null {
    if (!this._rules.restrictIps) return null;
    if (!this._rules.restrictLocal && isLocal(node.host) && !isLoopback(node.host)) return null;
    return sourceKey(node, this._rules.restrictLocal);
  }

  /**
   * libtorrent's restrict_search_ips: a lookup queries one node per /24 (a host with many sockets
   * or addresses counts once among the closest); null where nothing is restricted.
   */
  searchGroup(a: Address): string | null {
    if (!this._rules.restrictIps || (!this._rules.restrictLocal && isLocal(a.host))) return null;
    return subnet24(a.host);
  }

  /** The n contacts closest to `target` by XOR distance, closest first. */
  closest(target: Uint8Array, n = this.k): Contact[] {
    const out: Contact[] = [];
    const visit = (node: Bucket, bit: number): void => {
      if (out.length >= n) return;
      if (node.contacts) {
        for (const c of node.contacts) out.push(c);
        return;
      }
      const right = (target[bit >> 3]! & (0x80 >> (bit & 7))) !== 0;
      visit(right ? node.right : node.left, bit + 1);
      visit(right ? node.left : node.right, bit + 1);
    };
    visit(this._kb.root, 0);
    out.sort((a, b) => compareDistance(a.id, b.id, target));
    if (out.length > n) out.length = n;
    return out;
  }

  /**
   * BEP 5 refresh: a random id in the range of each bucket that is not full or has gone `age` ms
   * without news, the stalest first (a lookup of it fills or refreshes the bucket).
   */
  refreshTargets(now: number, age: number): Uint8Array[] {
    const stale: { seen: number; prefix: Uint8Array; bits: number }[] = [];
    const visit = (node: Bucket, prefix: Uint8Array, bits: number): void => {
      if (!node.contacts) {
        visit(node.left, prefix, bits + 1);
        visit(node.right, withBit(prefix, bits), bits + 1);
        return;
      }
      let seen = -Infinity;
      for (const c of node.contacts) seen = Math.max(seen, c.seen);
      if (node.contacts.length < this.k || now - seen > age) stale.push({ seen, prefix, bits });
      // The full bucket around our own id spans every range nearer than its depth: look into the
      // half not ours, so that nodes found there split it.
      else if (!node.dontSplit && bits < this.id.length * 8) stale.push({ seen, prefix: flipBit(this.id, bits), bits: bits + 1 });
    };
    visit(this._kb.root, new Uint8Array(this.id.length), 0);
    return stale.sort((a, b) => a.seen - b.seen).map((s) => randomIdWithPrefix(s.prefix, s.bits));
  }

  /** k-bucket found a full bucket that cannot split: make room only by evicting a contact gone bad. */
  private _onFull(contacts: Contact[], candidate: Contact): void {
    let stale: Contact | null = null;
    for (const c of contacts) {
      const questionable = c.fails > 0 || this._now - c.seen > GOOD_FOR;
      if (questionable && (!stale || c.fails > stale.fails || (c.fails === stale.fails && c.seen < stale.seen))) stale = c;
    }
    if (stale) this.onStale?.(stale, candidate);
  }
}

/** Compares the XOR distances of a and b to target: negative if a is closer. */
export function compareDistance(a: Uint8Array, b: Uint8Array, target: Uint8Array): number {
  for (let i = 0; i < target.length; i++) {
    const t = target[i]!;
    const d = (a[i]! ^ t) - (b[i]! ^ t);
    if (d !== 0) return d;
  }
  return 0;
}

function flipBit(id: Uint8Array, bit: number): Uint8Array {
  const out = id.slice();
  out[bit >> 3] = out[bit >> 3]! ^ (0x80 >> (bit & 7));
  return out;
}

function withBit(prefix: Uint8Array, bit: number): Uint8Array {
  const out = prefix.slice();
  out[bit >> 3] = out[bit >> 3]! | (0x80 >> (bit & 7));
  return out;
}

/** A random id whose first `bits` bits are those of `prefix`. */
export function randomIdWithPrefix(prefix: Uint8Array, bits: number): Uint8Array {
  const out = crypto.getRandomValues(new Uint8Array(prefix.length));
  for (let i = 0; i < bits; i++) {
    const mask = 0x80 >> (i & 7);
    out[i >> 3] = (out[i >> 3]! & ~mask) | (prefix[i >> 3]! & mask);
  }
  return out;
}
