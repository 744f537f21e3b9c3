// What a node stores for others: BEP 44 items and BEP 5 peers. Bounded in count, bytes and per
// source IP; items expire 2 hours after their last put (BEP 44), peers 30 minutes after announcing.
import type { BValue } from "../bencode.ts";
import { ITEM_TTL, type Limits, PEER_TTL } from "./constants.ts";
import { compareDistance } from "./table.ts";

export interface StoredItem {
  /** The value, decoded, and its bencoding. */
  v: BValue;
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
  ip: string;
  size: number;
  expires: number;
}

interface PeerEntry {
  ip: string;
  expires: number;
}

/** A map key for raw bytes (latin1: one char per byte). */
export const bytesKey = (b: Uint8Array): string => String.fromCharCode(...b);

export type PutOutcome = "stored" | "full";

export class Store {
  bytes = 0;
  private readonly _localId: Uint8Array;
  private readonly _limits: Limits;
  private readonly _items = new Map<string, ItemEntry>();
  private readonly _itemsByIp = new Map<string, number>();
  private readonly _torrents = new Map<string, Map<string, PeerEntry>>();
  private readonly _peersByIp = new Map<string, number>();

  constructor(localId: Uint8Array, limits: Limits) {
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

  /**
   * Stores (or refreshes) an item put by `ip`. When the store is full, the item farthest from our
   * id makes way for a closer one (the DHT wants items near their target); otherwise "full".
   */
  putItem(target: Uint8Array, item: StoredItem, ip: string, now: number): PutOutcome {
    const key = bytesKey(target);
    const size = item.raw.length + (item.salt?.length ?? 0) + (item.k ? 96 : 0);
    const old = this._items.get(key);
    if (old) this._deleteItem(key, old);
    else if ((this._itemsByIp.get(ip) ?? 0) >= this._limits.itemsPerIp) return "full";
    while (this._items.size >= this._limits.items || this.bytes + size > this._limits.itemBytes) {
      if (!this._evictFarther(target)) {
        if (old) this._insertItem(key, old);
        return "full";
      }
    }
    this._insertItem(key, { item, target, ip, size, expires: now + ITEM_TTL });
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
    this._items.set(key, e);
    this.bytes += e.size;
    count(this._itemsByIp, e.ip, 1);
  }

  private _deleteItem(key: string, e: ItemEntry): void {
    this._items.delete(key);
    this.bytes -= e.size;
    count(this._itemsByIp, e.ip, -1);
  }

  private _evictFarther(target: Uint8Array): boolean {
    let far: [string, ItemEntry] | null = null;
    for (const entry of this._items) {
      if (!far || compareDistance(entry[1].target, far[1].target, this._localId) > 0) far = entry;
    }
    if (!far || compareDistance(far[1].target, target, this._localId) <= 0) return false;
    this._deleteItem(far[0], far[1]);
    return true;
  }
}

function count(map: Map<string, number>, key: string, delta: number): void {
  const n = (map.get(key) ?? 0) + delta;
  if (n > 0) map.set(key, n);
  else map.delete(key);
}
