// What a node stores for others: BEP 44 items and BEP 5 peers. Bounded in count, in memory and
// per source; items expire 2 hours after their last put (BEP 44), peers 30 minutes after announcing.
//
// An item is kept as its bencoded bytes only (a reply splices them in): a decoded value can cost
// far more than its bytes (a list of 500 empty strings is 500 objects). Its cost is those bytes
// plus a measured per-entry overhead. When the store is full, the item put by the fewest distinct
// sources goes first (libtorrent's rule: what many hosts store matters more), among those the one
// whose source holds the most items, then the one farthest from our id; an incumbent is never
// evicted for a newcomer that ranks no higher.
import { ITEM_OVERHEAD, ITEM_SOURCES, ITEM_TTL, type Limits, PEER_TTL } from "./constants.ts";
import { compareDistance } from "./table.ts";

export interface StoredItem {
  /** The value's bencoding (what the signature and the immutable target cover). */
  raw: Uint8Array;
  /** Mutable items only. */
  k?: Uint8Array;
  salt?: Uint8Array;
  seq?: number | bigint;
  sig?: Uint8Array;
}

interface ItemEntry {
  item: StoredItem;
  target: Uint8Array;
  /** Distinct sources that put it, the first ITEM_SOURCES of them. */
  sources: string[];
  size: number;
  expires: number;
}

interface PeerEntry {
  ip: string;
  expires: number;
}

/** A map key for raw bytes (latin1: one char per byte). `apply` takes the typed array as it is: 5× faster than a spread. */
export const bytesKey = (b: Uint8Array): string => String.fromCharCode.apply(null, b as unknown as number[]);

export type PutOutcome = "stored" | "full";

/** What an item costs in memory: its bytes and the measured overhead of an entry (constants.ts). */
export function itemSize(item: StoredItem): number {
  return ITEM_OVERHEAD + item.raw.length + (item.salt?.length ?? 0) + (item.k ? item.k.length + item.sig!.length : 0);
}

export class Store {
  /** Memory held by items (see itemSize). */
  bytes = 0;
  /** Items evicted to make room for others, and puts refused because nothing ranked lower. */
  evicted = 0;
  refused = 0;
  private readonly _localId: () => Uint8Array;
  private readonly _limits: Limits;
  private readonly _items = new Map<string, ItemEntry>();
  private readonly _itemsBySource = new Map<string, number>();
  private readonly _torrents = new Map<string, Map<string, PeerEntry>>();
  private readonly _peersByIp = new Map<string, number>();
  /** The cached result of _leastImportant (undefined: to compute). */
  private _least: [string, ItemEntry] | null | undefined = undefined;

  /** `localId`: our node id now (it may change after a BEP 42 re-id). */
  constructor(limits: Limits, localId: () => Uint8Array) {
    this._localId = localId;
    this._limits = limits;
  }

  get items(): number {
    return this._items.size;
  }

  get torrents(): number {
    return this._torrents.size;
  }

  getItem(target: Uint8Array, now: number): StoredItem | undefined {
    const key = bytesKey(target);
    const e = this._items.get(key);
    if (e && e.expires <= now) {
      this._deleteItem(key, e);
      return undefined;
    }
    return e?.item;
  }

  /** Stores (or refreshes) an item put by `source`; "full" if it ranks below everything stored. */
  putItem(target: Uint8Array, item: StoredItem, source: string, now: number): PutOutcome {
    const key = bytesKey(target);
    const old = this._items.get(key);
    const load = this._itemsBySource.get(source) ?? 0;
    if (!old && load >= this._limits.itemsPerIp) {
      this.refused++;
      return "full";
    }
    const sources = old ? [...old.sources] : [];
    // A source at its quota may still refresh an item that others put, without counting for it.
    if (!sources.includes(source) && sources.length < ITEM_SOURCES && load < this._limits.itemsPerIp) sources.push(source);
    const entry: ItemEntry = { item, target, sources, size: itemSize(item), expires: now + ITEM_TTL };
    if (old) this._deleteItem(key, old);
    const evicted: [string, ItemEntry][] = [];
    while (this._items.size >= this._limits.items || this.bytes + entry.size > this._limits.itemBytes) {
      const victim = this._leastImportant();
      if (!victim || this._rank(victim[1]) >= this._rank(entry, true)) {
        // Nothing ranks below the newcomer: undo, and refuse it.
        for (const [k, e] of evicted) this._insertItem(k, e);
        this.evicted -= evicted.length;
        if (old) this._insertItem(key, old);
        this.refused++;
        return "full";
      }
      this._deleteItem(victim[0], victim[1]);
      evicted.push(victim);
      this.evicted++;
    }
    this._insertItem(key, entry);
    return "stored";
  }
  /** Up to `max` compact peers (6 bytes each) announced for `infoHash`. */
  getPeers(infoHash: Uint8Array, max: number, now: number): Uint8Array[] {
    const peers = this._torrents.get(bytesKey(infoHash));
    if (!peers) return [];
    const out: Uint8Array[] = [];
    for (const [peer, e] of peers) {
      if (e.expires <= now) continue;
      out.push(Uint8Array.from(peer, (c) => c.charCodeAt(0)));
      if (out.length >= max) break;
    }
    return out;
  }

  /** Records that `peer` (compact, 6 bytes) announced `infoHash` from `ip`; false if refused. */
  addPeer(infoHash: Uint8Array, peer: Uint8Array, ip: string, now: number): boolean {
    const key = bytesKey(infoHash);
    const peerKey = bytesKey(peer);
    let peers = this._torrents.get(key);
    const old = peers?.get(peerKey);
    if (!old && (this._peersByIp.get(ip) ?? 0) >= this._limits.peersPerIp) return false;
    if (!peers) {
      if (this._torrents.size >= this._limits.torrents) return false;
      peers = new Map();
      this._torrents.set(key, peers);
    }
    if (old) {
      peers.delete(peerKey);
      count(this._peersByIp, old.ip, -1);
    } else if (peers.size >= this._limits.peersPerTorrent) {
      const [oldestKey, oldest] = peers.entries().next().value!;
      peers.delete(oldestKey);
      count(this._peersByIp, oldest.ip, -1);
    }
    peers.set(peerKey, { ip, expires: now + PEER_TTL });
    count(this._peersByIp, ip, 1);
    return true;
  }

  /** Drops everything expired. */
  sweep(now: number): void {
    for (const [key, e] of this._items) if (e.expires <= now) this._deleteItem(key, e);
    for (const [key, peers] of this._torrents) {
      for (const [peerKey, e] of peers) {
        if (e.expires > now) continue;
        peers.delete(peerKey);
        count(this._peersByIp, e.ip, -1);
      }
      if (!peers.size) this._torrents.delete(key);
    }
  }

  private _insertItem(key: string, e: ItemEntry): void {
    this._least = undefined;
    this._items.set(key, e);
    this.bytes += e.size;
    for (const source of e.sources) count(this._itemsBySource, source, 1);
  }

  private _deleteItem(key: string, e: ItemEntry): void {
    this._least = undefined;
    this._items.delete(key);
    this.bytes -= e.size;
    for (const source of e.sources) count(this._itemsBySource, source, -1);
  }

  /**
   * An item's rank as a number: distinct sources first, then the fewer items its busiest source
   * holds the better. `adding`: the entry is not in the store yet (its sources will hold one more).
   */
  private _rank(e: ItemEntry, adding = false): number {
    let busiest = 0;
    for (const source of e.sources) busiest = Math.max(busiest, (this._itemsBySource.get(source) ?? 0) + (adding ? 1 : 0));
    return e.sources.length * 1e6 - busiest;
  }

  /**
   * The item to evict first. A scan of every item, remembered until the store changes: a flood of
   * puts that are refused (the usual case when full) costs one scan, not one per put.
   */
  private _leastImportant(): [string, ItemEntry] | null {
    if (this._least !== undefined) return this._least;
    const self = this._localId();
    let worst: [string, ItemEntry] | null = null;
    let worstRank = Infinity;
    for (const entry of this._items) {
      const rank = this._rank(entry[1]);
      if (rank < worstRank || (rank === worstRank && compareDistance(entry[1].target, worst![1].target, self) > 0)) {
        worst = entry;
        worstRank = rank;
      }
    }
    return (this._least = worst);
  }

}

function count(map: Map<string, number>, key: string, delta: number): void {
  const n = (map.get(key) ?? 0) + delta;
  if (n > 0) map.set(key, n);
  else map.delete(key);
}
