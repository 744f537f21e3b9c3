// The session layer's counters (`SessionEndpoint.stats`): what happened since creation, every
// drop by cause, and the current size of every bounded table.

export interface WireStats {
  packetsReceived: number;
  packetsSent: number;
  /** Initiations sent (each retry counts). */
  initiationsSent: number;
  /** Handshakes completed as initiator / answered as responder. */
  handshakesCompleted: number;
  handshakesAnswered: number;
  messagesSent: number;
  messagesReceived: number;
  messagesFailed: number;
  retransmissions: number;
  acksSent: number;
  sendErrors: number;
  /** Cookie replies sent (under load) and received (docs/PROTOCOL.md §8). */
  cookiesSent: number;
  cookiesReceived: number;
  /** Sessions peers opened that made way for a newcomer (fair shares, fairness.ts). */
  evictions: number;
  /** Packets dropped without reply, by cause. */
  dropped: {
    /** Not a chat/1 packet: type, length, reserved bytes, counter range. */
    malformed: number;
    /** A response or data packet naming an index we do not have. */
    unknownIndex: number;
    /** Did not authenticate (Noise message or data AEAD). */
    decrypt: number;
    /** A data counter already seen or behind the window. */
    replay: number;
    /** Message 1 payload not `{i, t}`, or `i` not the key Noise revealed. */
    payload: number;
    identity: number;
    /** Message 1 `t` not newer than the last accepted from that identity. */
    timestamp: number;
    /** Message 1 `t` outside the freshness window of our clock. */
    stale: number;
    /** Over a per-source or global initiation rate. */
    rateLimited: number;
    /** Session table full, or too many pending handshakes from one source. */
    busy: number;
    /** A type 10 initiation whose `mac2` is wrong for its source, or a cookie reply that does not open. */
    cookie: number;
    /** Authenticated, but not a valid frame (or invalid UTF-8, or contradicting fragments). */
    frame: number;
    /** A fragment refused for a reassembly or dedupe limit (the sender retransmits). */
    refused: number;
    /** A message over its peer's or its source group's rate: not acked, the sender retransmits. */
    peerRate: number;
    /** A message with no room in the queue to the application: not acked, the sender retransmits. */
    queueFull: number;
    /** A copy of a message still waiting for the application: its ack comes when it is taken. */
    held: number;
    /** An ack for no message in flight. */
    staleAck: number;
    /** A `relayed` packet from a relay we neither registered with nor reached the peer by. */
    relay: number;
    /** An internal error while handling a packet (a bug: never thrown out of `receive`). */
    internal: number;
  };
  /** Current state. */
  sessions: number;
  pendingSessions: number;
  handshakes: number;
  peers: number;
  sources: number;
  timestamps: number;
  partialBytes: number;
  dedupe: number;
  /** Messages delivered and not yet taken by the application, and their bytes. */
  queued: number;
  queuedBytes: number;
}

/** The part of `WireStats` that only ever counts up. */
export type Counters = Omit<WireStats, "sessions" | "pendingSessions" | "handshakes" | "peers" | "sources" | "timestamps" | "partialBytes" | "dedupe" | "queued" | "queuedBytes">;
export type DropCause = keyof WireStats["dropped"];

export function newCounters(): Counters {
  return {
    packetsReceived: 0,
    packetsSent: 0,
    initiationsSent: 0,
    handshakesCompleted: 0,
    handshakesAnswered: 0,
    messagesSent: 0,
    messagesReceived: 0,
    messagesFailed: 0,
    retransmissions: 0,
    acksSent: 0,
    sendErrors: 0,
    cookiesSent: 0,
    cookiesReceived: 0,
    evictions: 0,
    dropped: {
      malformed: 0,
      unknownIndex: 0,
      decrypt: 0,
      replay: 0,
      payload: 0,
      identity: 0,
      timestamp: 0,
      stale: 0,
      rateLimited: 0,
      busy: 0,
      cookie: 0,
      frame: 0,
      refused: 0,
      peerRate: 0,
      queueFull: 0,
      held: 0,
      staleAck: 0,
      relay: 0,
      internal: 0,
    },
  };
}

/** Counts a packet dropped without reply. */
export function drop(counters: Counters, cause: DropCause): void {
  counters.dropped[cause]++;
}
