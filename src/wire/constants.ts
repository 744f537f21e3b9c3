// Every number of the session layer (PROTOCOL §6), named once. Times are milliseconds.

/** Packet types: the first byte of a datagram that is not KRPC (`d`, 0x64). */
export const TYPE_INITIATION = 1;
export const TYPE_RESPONSE = 2;
export const TYPE_DATA = 3;
/** This implementation's load defence (docs/PROTOCOL.md §8, from PROTOCOL §7's free range 9–15). */
export const TYPE_COOKIE_REPLY = 9;
export const TYPE_INITIATION_COOKIE = 10;

/** Noise: `Noise_IK_25519_ChaChaPoly_BLAKE2b`, prologue `chat/1` (PROTOCOL §6). */
export const PROLOGUE = new TextEncoder().encode("chat/1");
export const DH_LEN = 32;
export const TAG_LEN = 16;

/** Header sizes: type (1) + 3 reserved zero bytes, then the little-endian fields. */
export const INITIATION_HEADER = 8;
export const RESPONSE_HEADER = 12;
export const DATA_HEADER = 16;

/**
 * Message 1 payload is exactly `d1:i32:<32 bytes>1:ti<t>ee`: 45 bytes plus the digits of `t`,
 * a unix-ms integer of 1 to 16 digits (safe integers). Message 1 = e + enc(s) + enc(payload).
 */
export const PAYLOAD1_MIN = 46;
export const PAYLOAD1_MAX = 61;
export const INITIATION_MIN = INITIATION_HEADER + DH_LEN + DH_LEN + TAG_LEN + PAYLOAD1_MIN + TAG_LEN;
export const INITIATION_MAX = INITIATION_MIN + (PAYLOAD1_MAX - PAYLOAD1_MIN);
/** Message 2 = e + enc(empty payload). */
export const RESPONSE_LEN = RESPONSE_HEADER + DH_LEN + TAG_LEN;

/** Every datagram stays under 1200 bytes (PROTOCOL §6). */
export const MAX_DATAGRAM = 1199;
export const DATA_MIN = DATA_HEADER + TAG_LEN;

/** Cookies (WireGuard §5.4.7): a 16-byte MAC of the source address, sealed to the initiator. */
export const COOKIE_LEN = 16;
export const MAC2_LEN = 16;
export const COOKIE_NONCE_LEN = 24;
/** `09 00 00 00 · receiver_index · nonce (24) · sealed cookie (16 + 16)`. */
export const COOKIE_REPLY_LEN = 8 + COOKIE_NONCE_LEN + COOKIE_LEN + TAG_LEN;
/** The cookie secret changes every 2 minutes; a cookie is accepted in its epoch and the next (WireGuard). */
export const COOKIE_SECRET_LIFETIME = 120_000;
/** An initiator uses a cookie for less than the shortest time it stays valid. */
export const COOKIE_USE_FOR = COOKIE_SECRET_LIFETIME - 10_000;
/**
 * Message 1's `t` must lie within this much of the responder's clock (docs/PROTOCOL.md §8): with
 * the per-identity memory this closes replays after a restart or once an identity is forgotten.
 */
export const TIMESTAMP_WINDOW = 120_000;

/**
 * Counters are u64 on the wire; this implementation never reaches 2^53 (a session lives one hour)
 * and treats a larger counter as malformed, so every counter is an exact JS number.
 */
export const MAX_COUNTER = Number.MAX_SAFE_INTEGER;
/** A session that sent this many packets starts no new message (WireGuard's REKEY_AFTER_MESSAGES). */
export const REKEY_AFTER_COUNTER = 2 ** 52;

/** Frames (PROTOCOL §6). */
export const MESSAGE_ID_LEN = 16;
export const FRAGMENT_DATA = 1024;
export const MAX_FRAGMENTS = 64;
export const MAX_MESSAGE_BYTES = FRAGMENT_DATA * MAX_FRAGMENTS;

/** Reliable delivery: retransmit from 250 ms, doubling, give up 10 s after the first send. */
export const RETRANSMIT_START = 250;
/**
 * Retransmissions due together go a window's worth at a time, this far apart: all that was in
 * flight at once is what overflowed the receiver, and would again.
 */
export const RETRANSMIT_PACE = 50;
/**
 * A message overtaken by a later one's ack is deemed lost two round trips after its send, and never
 * sooner than this: the clock counts whole milliseconds, and on loopback a round trip reads 0.
 */
export const REORDER_MIN = 4;
export const DELIVERY_TIMEOUT = 10_000;
/** Handshake: a new initiation from 500 ms on, doubling, give up after 10 s. */
export const HANDSHAKE_RETRY_START = 500;
export const HANDSHAKE_TIMEOUT = 10_000;
/** A responder session with no data within 10 s of its response is dropped. */
export const RESPONDER_CONFIRM_TIMEOUT = 10_000;
/** Key lifetime: 10 minutes idle, 1 hour at most. */
export const SESSION_IDLE = 10 * 60_000;
export const SESSION_MAX_AGE = 60 * 60_000;
/**
 * No new message starts on a session this close to either limit (WireGuard's REKEY before
 * REJECT): its retransmissions need 10 s, and the peer's idle clock may run a little ahead.
 */
export const REKEY_MARGIN = 30_000;
/** A partial message is dropped this long after its first fragment (the sender gave up at 10 s). */
export const PARTIAL_TIMEOUT = 15_000;
/** Delivered message ids are remembered this long: 3 × the sender's 10 s of retransmissions. */
export const DEDUPE_TIME = 30_000;
/**
 * ...and at least this long, when a session has no room left to remember the next one: a sender's
 * last copy leaves at most 10 s after its first (ours: 7.75 s), which arrived before the id was
 * taken; so a fast stream needs room for 12 s of ids, not 30.
 */
export const DEDUPE_TIME_MIN = 12_000;
/** Unacknowledged messages in flight per peer; more wait in a queue. */
export const SEND_WINDOW = 32;
/**
 * Unacknowledged fragments (datagrams) in flight per peer, at first and after losses: one 64 KiB
 * message. Everything in flight may arrive in one burst, which the receiver's socket buffer must
 * hold (Linux's default 208 KiB holds about 90 datagrams of this size).
 */
export const SEND_WINDOW_FRAGMENTS = MAX_FRAGMENTS;
/**
 * ...and at most, grown while messages are acked without a retransmission (outbox.ts): four 64 KiB
 * messages, so that the next ones are on their way while the receiver still works on the first (a
 * window of one message left each end idle half the time). Our sockets ask for 4 MiB of receive
 * buffer on Node (dht/udp_node.ts; Deno's keep the system's); a peer with less loses some of a
 * burst and halves the window.
 */
export const SEND_WINDOW_FRAGMENTS_MAX = 4 * MAX_FRAGMENTS;
/**
 * Incomplete messages a receiver keeps per session (the default `maxPartialPerSession`), and so
 * the multi-fragment messages a sender has in flight per peer: any more would be refused.
 */
export const PARTIAL_PER_SESSION = 8;
/** Established sessions kept per peer: the current one and the previous one (as WireGuard). */
export const SESSIONS_PER_PEER = 2;

/** Bounds on state that remote packets can create; every one is a constructor option. */
export interface WireLimits {
  /** Sessions of all kinds (pending responses and established) at once. */
  maxSessions: number;
  /** Sessions awaiting their first data packet, per source IP. */
  maxPendingPerSource: number;
  /** Initiations per source IP: token bucket rate (per second) and burst. */
  sourceRate: number;
  sourceBurst: number;
  /** Source IPs tracked by the rate limiter; new sources are refused beyond it. */
  maxSources: number;
  /** Initiations processed per second in all (each costs four X25519 operations), and burst. */
  globalRate: number;
  globalBurst: number;
  /** Identities whose last accepted `t` is remembered (least recently used forgotten first). */
  maxTimestamps: number;
  /** Incomplete messages per session, and bytes buffered in incomplete messages in all. */
  maxPartialPerSession: number;
  maxPartialBytes: number;
  /** Delivered message ids remembered per session (for exactly-once) and in all. */
  maxDedupePerSession: number;
  maxDedupe: number;
  /** Bytes of incomplete messages one source group (see `groupOf`) may hold in all. */
  maxPartialBytesPerSource: number;
  /** Confirmed or pending sessions that peers opened to us, per source IP and per /24 (/48). */
  maxSessionsPerSource: number;
  maxSessionsPerGroup: number;
  /** Messages and bytes a peer may deliver to us: token bucket rates (per second) and bursts. */
  peerMessageRate: number;
  peerMessageBurst: number;
  peerByteRate: number;
  peerByteBurst: number;
  /** The same, for all peers of one source group (/24 or /48) together: identities are free. */
  groupMessageRate: number;
  groupMessageBurst: number;
  groupByteRate: number;
  groupByteBurst: number;
  /** Messages delivered but not yet taken by the application, in all and per peer, and their bytes. */
  maxQueued: number;
  maxQueuedBytes: number;
  maxQueuedPerPeer: number;
  maxQueuedBytesPerPeer: number;
  /** Cookie replies sent per second in all, and burst (each costs a MAC and a small AEAD). */
  cookieRate: number;
  cookieBurst: number;
}

export const DEFAULT_LIMITS: Readonly<WireLimits> = Object.freeze({
  maxSessions: 1024,
  maxPendingPerSource: 16,
  // WireGuard's ratelimiter: 20 initiations per second per source, burst 5.
  sourceRate: 20,
  sourceBurst: 5,
  maxSources: 4096,
  globalRate: 200,
  globalBurst: 200,
  maxTimestamps: 16_384,
  maxPartialPerSession: PARTIAL_PER_SESSION,
  maxPartialBytes: 16 * 1024 * 1024,
  // ~70 bytes each (measured on Node 20; 646 with the hex keys before): 18 MiB per session, 36 MiB
  // in all (65,536 cost 42 MiB before). A session needs
  // rate × DEDUPE_TIME_MIN of them: 2^18 carries 21,800 messages/s for ever.
  maxDedupePerSession: 2 ** 18,
  maxDedupe: 2 ** 19,
  maxPartialBytesPerSource: 2 * 1024 * 1024,
  maxSessionsPerSource: 32,
  maxSessionsPerGroup: 128,
  // What one session can carry (a stream the application keeps up with), and a host with many
  // identities twice that. Since acks wait until the application takes a message, a flood is paced
  // by the application and cannot grow memory (mailbox.ts, the dedupe caps above); these rates cap
  // the receiver's CPU and dedupe memory one peer or one host can claim (docs/PROTOCOL.md §8).
  peerMessageRate: 25_000,
  peerMessageBurst: 50_000,
  peerByteRate: 64 * 1024 * 1024,
  peerByteBurst: 64 * 1024 * 1024,
  groupMessageRate: 50_000,
  groupMessageBurst: 100_000,
  groupByteRate: 128 * 1024 * 1024,
  groupByteBurst: 128 * 1024 * 1024,
  maxQueued: 1024,
  maxQueuedBytes: 8 * 1024 * 1024,
  maxQueuedPerPeer: 256,
  maxQueuedBytesPerPeer: 2 * 1024 * 1024,
  cookieRate: 2000,
  cookieBurst: 500,
});

/** PROTOCOL §9 packet types: relays between a listener behind NAT and its senders. */
export const TYPE_REGISTER = 4;
export const TYPE_REGISTERED = 5;
export const TYPE_RELAY = 6;
export const TYPE_RELAY_BACK = 7;
export const TYPE_RELAYED = 8;

/** What a relay holds and forwards (PROTOCOL §9; our numbers in docs/PROTOCOL.md §8). */
export interface RelayLimits {
  /** Seconds a registration lives without a new `register` (PROTOCOL §9: at least 60). */
  lifetime: number;
  /** Registrations in all, and per source IP (per IP and port on loopback). */
  maxRegistrations: number;
  registrationsPerSource: number;
  /** (listener, sender) pairs allowed to talk, in all; each lives 60 s after the sender's last `relay`. */
  maxPairs: number;
  /** Per pair, both directions together: packets and bytes per second, and their bursts. */
  pairPacketRate: number;
  pairPacketBurst: number;
  pairByteRate: number;
  pairByteBurst: number;
  /** The whole relay: packets and bytes per second (burst: one second's worth). */
  totalPacketRate: number;
  totalByteRate: number;
}

export const DEFAULT_RELAY_LIMITS: Readonly<RelayLimits> = Object.freeze({
  lifetime: 90,
  maxRegistrations: 4096,
  registrationsPerSource: 8,
  maxPairs: 16_384,
  // A relayed chat: 64 KiB messages in 1 KiB fragments, acks and retransmissions.
  pairPacketRate: 200,
  pairPacketBurst: 400,
  pairByteRate: 256 * 1024,
  pairByteBurst: 512 * 1024,
  totalPacketRate: 10_000,
  totalByteRate: 8 * 1024 * 1024,
});
/** A `relay` from Y lets the listener answer Y through the relay for this long (PROTOCOL §9). */
export const RELAY_PAIR_WINDOW = 60_000;
/** PROTOCOL §9: a session through a NAT that sent nothing for this long sends a keepalive. */
export const KEEPALIVE_AFTER = 25_000;
/** A session that heard from its peer directly this recently ignores relayed copies for its path. */
export const DIRECT_PREFERRED = 60_000;
/** While relayed, a young session also sends its packets directly, to open both NATs (the punch). */
export const PUNCH_WINDOW = 10_000;
