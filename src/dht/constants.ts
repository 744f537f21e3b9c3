// Every protocol number of the DHT in one place (BEP 5, BEP 42, BEP 44), plus this node's limits.

/** BEP 5: node ids and info hashes are 160-bit. */
export const ID_LENGTH = 20;
/** BEP 5: bucket size and the number of closest nodes a lookup converges on. */
export const K = 8;
/** BEP 5 / Kademlia: lookup parallelism. */
export const ALPHA = 3;
/** Compact node info: id (20) + IPv4 (4) + port (2). */
export const NODE_LENGTH = 26;
/** Compact IPv4 peer/address: 4 + 2. */
export const ADDRESS_LENGTH = 6;

/** KRPC `v`: two-letter client id "CH" then a 2-byte version. */
export const CLIENT_VERSION = new Uint8Array([0x43, 0x48, 0, 1]);

/** KRPC error codes (BEP 5 §Errors, BEP 44 §Errors). */
export const ERR = {
  generic: 201,
  server: 202,
  protocol: 203,
  method: 204,
  tooBig: 205,
  badSignature: 206,
  saltTooBig: 207,
  cas: 301,
  seqTooLow: 302,
} as const;

/** BEP 44: `v` bencoded is at most 1000 bytes, salt at most 64. */
export const MAX_VALUE = 1000;
export const MAX_SALT = 64;
/** Ed25519 sizes (BEP 44 `k`, `sig`). */
export const KEY_LENGTH = 32;
export const SIG_LENGTH = 64;

/** Write tokens: secret rotated every 5 minutes, the previous one still accepted, so ≤ 10 minutes. */
export const TOKEN_ROTATE = 5 * 60_000;
export const TOKEN_LENGTH = 8;

/** BEP 44: items may expire after 2 hours without a refresh; peers after 30 minutes (BEP 5 practice). */
export const ITEM_TTL = 2 * 3600_000;
export const PEER_TTL = 30 * 60_000;

/** BEP 5: a node is good if it answered within 15 minutes; buckets untouched that long are refreshed. */
export const GOOD_FOR = 15 * 60_000;
export const REFRESH_EVERY = 15 * 60_000;
/** libtorrent's restrict_routing_ips: contacts of one /24 (IPv4) in one bucket. */
export const PER_SUBNET_PER_BUCKET = 2;
/** Maintenance tick: bucket refresh, storage expiry, pings of questionable nodes. */
export const TICK = 60_000;
/** BEP 5: "try once more before discarding": a contact is dropped after this many failed queries. */
export const MAX_FAILS = 2;

/** Addresses remembered as having answered us (they get replies up to `amplification` ×). */
export const ANSWERED = 4096;
/**
 * Zero bytes a BEP 44 `get` of ours carries in `a.pad` (BEP 5: unknown arguments are ignored), so
 * that 3× the query holds a 1000-byte item: RFC 9000 §8.1 pads a QUIC Initial for the same reason.
 */
export const GET_PAD = new Uint8Array(320);

/** RPC defaults. */
export const QUERY_TIMEOUT = 2000;
export const MAX_INFLIGHT = 64;

/**
 * Memory of one stored BEP 44 item beyond its value, key, signature and salt bytes: the map entry,
 * its key string, the entry objects, the typed arrays and the per-source count. Measured with
 * scripts/attack/overhead.ts (Node 20, 20,000 items, every one from another source): 840 to 1,260
 * bytes; rounded up.
 */
export const ITEM_OVERHEAD = 1280;
/** How many distinct sources of one item are remembered (they rank it for eviction). */
export const ITEM_SOURCES = 8;

/** What one node stores, and what one source address may use of it. */
export const LIMITS = {
  items: 2000,
  /** Memory of stored items, as counted by store.ts (value bytes + ITEM_OVERHEAD each). */
  itemBytes: 4 << 20,
  itemsPerIp: 64,
  torrents: 2000,
  peersPerTorrent: 100,
  peersPerIp: 64,
  /** Values returned by one get_peers reply (6 bytes each). */
  valuesPerReply: 32,
  /** Per source: a token bucket of queries (burst, then per second). */
  queryBurst: 200,
  queryRate: 50,
  /** Per source: puts and announces (they cost storage and, for puts, a signature check). */
  writeBurst: 20,
  writeRate: 2,
  /** How many source buckets the rate limiter remembers. */
  sources: 10_000,
  /**
   * A reply may be at most this many times its query (anti-amplification), trimming nodes/values:
   * to an address that answered us or sent a valid token, and to one that did not.
   */
  amplification: 16,
  unverifiedAmplification: 3,
} as const;
export type Limits = { -readonly [K in keyof typeof LIMITS]: number };

/** BEP 5: the public Mainline routers, the default bootstrap. */
export const BOOTSTRAP = [
  { host: "router.bittorrent.com", port: 6881 },
  { host: "dht.transmissionbt.com", port: 6881 },
  { host: "router.utorrent.com", port: 6881 },
  { host: "dht.libtorrent.org", port: 25401 },
] as const;

