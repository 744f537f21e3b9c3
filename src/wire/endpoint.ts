// The session layer of PROTOCOL §6 behind one object: it takes datagrams in (`receive`) and hands
// datagrams out (the `send` callback), so it knows nothing of sockets and runs on virtual time in
// tests. Every remotely created piece of state is bounded (constants.ts WireLimits); a packet that
// does not parse, authenticate or name a known index is dropped unanswered and counted.
import { randomBytes } from "@noble/hashes/utils.js";
import { formatPublicKey, x25519FromEd25519Public } from "../crypto/identity.ts";
import { ChatError } from "../errors.ts";
import {
  DEFAULT_LIMITS,
  DELIVERY_TIMEOUT,
  HANDSHAKE_RETRY_START,
  HANDSHAKE_TIMEOUT,
  MAX_MESSAGE_BYTES,
  MESSAGE_ID_LEN,
  PARTIAL_PER_SESSION,
  REKEY_AFTER_COUNTER,
  REKEY_MARGIN,
  RESPONDER_CONFIRM_TIMEOUT,
  RETRANSMIT_START,
  SEND_WINDOW,
  SEND_WINDOW_FRAGMENTS,
  SESSION_IDLE,
  SESSION_MAX_AGE,
  SESSIONS_PER_PEER,
  TYPE_DATA,
  TYPE_INITIATION,
  TYPE_RESPONSE,
  type WireLimits,
} from "./constants.ts";
import { Inbox, type InboxUsage, fragmentMessage } from "./fragment.ts";
import { decodeFrame, encodeFrame, type MessageFrame } from "./frames.ts";
import { Initiation, Responder, type WireIdentity } from "./handshake.ts";
import { type DataPacket, type InitiationPacket, parsePacket, type ResponsePacket } from "./packets.ts";
import { SourceLimiter, TokenBucket } from "./ratelimit.ts";
import { type Address, Session } from "./session.ts";
import { abytes, equalBytes, toHex } from "./_bytes.ts";

export type { Address } from "./session.ts";
export type { WireIdentity } from "./handshake.ts";

/** Timer functions, injectable so tests run in virtual time. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface SessionEndpointOptions {
  /** Our identity: Ed25519 public key and its X25519 key pair (PROTOCOL §2). */
  identity: WireIdentity;
  /** Sends one datagram; the endpoint never throws if it throws (counted in `sendErrors`). */
  send: (datagram: Uint8Array, to: Address) => void;
  /** Called once per delivered message. */
  onMessage?: (message: IncomingMessage) => void;
  /** Unix milliseconds (default `Date.now`). */
  clock?: () => number;
  timers?: Timers;
  /** Random bytes (default: the platform CSPRNG) for indices and message ids. */
  random?: (length: number) => Uint8Array;
  limits?: Partial<WireLimits>;
}

/** A message delivered to us. */
export interface IncomingMessage {
  /** The sender's Ed25519 public key, authenticated by the handshake. */
  readonly from: Uint8Array;
  readonly id: Uint8Array;
  readonly text: string;
  /** The sender's clock when it sent the message (unix ms; not authenticated time). */
  readonly sentAt: number;
  readonly receivedAt: number;
  /** Where the session's packets come from. */
  readonly address: Address;
}

/** A message the peer acknowledged. */
export interface Delivery {
  readonly id: Uint8Array;
  /** Milliseconds from `sendMessage` to the ack, including the handshake when one was needed. */
  readonly rttMs: number;
}

/** Why a message was not delivered. */
export type DeliveryFailure =
  /** No response to any initiation within 10 s. */
  | "HANDSHAKE_TIMEOUT"
  /** No ack within 10 s of the first transmission. */
  | "DELIVERY_TIMEOUT"
  /** The session was closed (by either side) or replaced before the ack came. */
  | "SESSION_CLOSED"
  /** `close()` was called. */
  | "ENDPOINT_CLOSED"
  /** `reply` to a peer with no session and no known address. */
  | "NO_SESSION";

/** The rejection of `sendMessage` and `reply` when the message was not delivered (exit code 1). */
export class DeliveryError extends ChatError {
  readonly reason: DeliveryFailure;
  /** The message id, when one was assigned. */
  readonly messageId: Uint8Array | undefined;

  constructor(reason: DeliveryFailure, message: string, hint: string, messageId?: Uint8Array) {
    super(reason, message, { hint });
    this.reason = reason;
    this.messageId = messageId;
  }
}

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
    /** Over a per-source or global initiation rate. */
    rateLimited: number;
    /** Session table full, or too many pending handshakes from one source. */
    busy: number;
    /** Authenticated, but not a valid frame (or invalid UTF-8, or contradicting fragments). */
    frame: number;
    /** A fragment refused for a reassembly or dedupe limit (the sender retransmits). */
    refused: number;
    /** An ack for no message in flight. */
    staleAck: number;
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
}

type Counters = Omit<WireStats, "sessions" | "pendingSessions" | "handshakes" | "peers" | "sources" | "timestamps" | "partialBytes" | "dedupe">;
type DropCause = keyof WireStats["dropped"];

interface Outgoing {
  readonly id: Uint8Array;
  readonly key: string;
  readonly peer: Peer;
  readonly frames: Uint8Array[];
  readonly calledAt: number;
  readonly resolve: (delivery: Delivery) => void;
  readonly reject: (error: DeliveryError) => void;
  session?: Session;
  firstSentAt: number;
  /** The next retransmission: firstSentAt + 250, + 750, + 1750, … (doubling gaps). */
  nextAt: number;
  gap: number;
  timer?: unknown;
}

interface Handshake {
  readonly peer: Peer;
  readonly address: Address;
  readonly startedAt: number;
  /** Every attempt stays answerable until one completes: a slow response still counts. */
  readonly attempts: Map<number, Initiation>;
  nextAt: number;
  gap: number;
  timer?: unknown;
}

interface Peer {
  readonly key: string;
  readonly publicKey: Uint8Array;
  x25519?: Uint8Array;
  address?: Address;
  /** Confirmed sessions, newest first, at most SESSIONS_PER_PEER. */
  sessions: Session[];
  handshake?: Handshake;
  /** Messages waiting for a session or for room in the send window. */
  queue: Outgoing[];
  inflight: Map<string, Outgoing>;
  /** Fragments of the messages in `inflight`, and how many of those have more than one. */
  inflightFragments: number;
  inflightMulti: number;
}

type Slot = { readonly session: Session } | { readonly handshake: Handshake; readonly initiation: Initiation };

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** The sentence and the hint of each failure. */
function failureText(reason: DeliveryFailure, who: string): [string, string] {
  switch (reason) {
    case "HANDSHAKE_TIMEOUT":
      return [`Cannot reach ${who}: no handshake response within ${HANDSHAKE_TIMEOUT / 1000} s`,
        "Check that the peer is online (chat listen) and that its address is current (chat lookup)"];
    case "DELIVERY_TIMEOUT":
      return [`Message to ${who} not acknowledged within ${DELIVERY_TIMEOUT / 1000} s`, "The peer may have gone offline; try again"];
    case "SESSION_CLOSED":
      return [`Message to ${who} not acknowledged: the session closed`, "Send it again to start a new session"];
    case "ENDPOINT_CLOSED":
      return [`Message to ${who} not acknowledged: the endpoint closed`, "Keep the endpoint open until messages are delivered"];
    case "NO_SESSION":
      return [`Cannot reply to ${who}: no session with this peer`, "Use sendMessage with the peer's address"];
  }
}

const defaultTimers: Timers = {
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof globalThis.setTimeout>),
};

/**
 * A chat/1 session endpoint: handshakes, sessions, reliable messages (PROTOCOL §6). Datagrams go
 * out through `send` and come in through `receive`; the owner of the socket routes KRPC (`d`)
 * elsewhere. Timers run while sessions or messages are pending: call `close()` when done.
 */
export class SessionEndpoint {
  readonly #identity: WireIdentity;
  readonly #send: (datagram: Uint8Array, to: Address) => void;
  readonly #clock: () => number;
  readonly #timers: Timers;
  readonly #random: (length: number) => Uint8Array;
  readonly #limits: WireLimits;
  readonly #listeners = new Set<(message: IncomingMessage) => void>();
  readonly #iteratorEnds = new Set<() => void>();

  readonly #slots = new Map<number, Slot>();
  readonly #peers = new Map<string, Peer>();
  /** Pending (unconfirmed) responder sessions per source host. */
  readonly #pendingBySource = new Map<string, number>();
  readonly #sessionTimers = new Map<Session, { at: number; handle: unknown }>();
  /** PROTOCOL §6 replay guard: the last accepted `t` per identity, least recently used first. */
  readonly #timestamps = new Map<string, number>();
  readonly #sourceLimiter: SourceLimiter;
  readonly #globalLimiter: TokenBucket;
  readonly #usage: InboxUsage = { partialBytes: 0, dedupe: 0 };
  #sessionCount = 0;
  #pendingCount = 0;
  #lastTimestamp = 0;
  #closed = false;
  readonly #counters: Counters = {
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
    dropped: {
      malformed: 0,
      unknownIndex: 0,
      decrypt: 0,
      replay: 0,
      payload: 0,
      identity: 0,
      timestamp: 0,
      rateLimited: 0,
      busy: 0,
      frame: 0,
      refused: 0,
      staleAck: 0,
      internal: 0,
    },
  };

  constructor(options: SessionEndpointOptions) {
    const { identity } = options;
    abytes(identity?.publicKey, 32, "identity.publicKey");
    abytes(identity?.x25519?.secretKey, 32, "identity.x25519.secretKey");
    abytes(identity?.x25519?.publicKey, 32, "identity.x25519.publicKey");
    if (typeof options.send !== "function") throw new TypeError(`"send" expected a function`);
    // PROTOCOL §2: one identity, two forms. Peers check exactly this in message 1, so a mismatch
    // here would only surface as handshakes that time out.
    if (!equalBytes(x25519FromEd25519Public(identity.publicKey), identity.x25519.publicKey)) {
      throw new RangeError(`"identity.x25519.publicKey" is not the X25519 form of "identity.publicKey"`);
    }
    this.#identity = identity;
    this.#send = options.send;
    this.#clock = options.clock ?? Date.now;
    this.#timers = options.timers ?? defaultTimers;
    this.#random = options.random ?? randomBytes;
    this.#limits = { ...DEFAULT_LIMITS, ...options.limits };
    if (options.onMessage) this.#listeners.add(options.onMessage);
    const now = this.#clock();
    this.#sourceLimiter = new SourceLimiter(this.#limits.sourceRate, this.#limits.sourceBurst, this.#limits.maxSources);
    this.#globalLimiter = new TokenBucket(this.#limits.globalRate, this.#limits.globalBurst, now);
  }

  /** Our Ed25519 public key. */
  get publicKey(): Uint8Array {
    return this.#identity.publicKey.slice();
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Counters since creation and the current size of every bounded table. */
  get stats(): WireStats {
    let handshakes = 0;
    for (const peer of this.#peers.values()) if (peer.handshake) handshakes++;
    return {
      ...this.#counters,
      dropped: { ...this.#counters.dropped },
      sessions: this.#sessionCount - this.#pendingCount,
      pendingSessions: this.#pendingCount,
      handshakes,
      peers: this.#peers.size,
      sources: this.#sourceLimiter.size,
      timestamps: this.#timestamps.size,
      partialBytes: this.#usage.partialBytes,
      dedupe: this.#usage.dedupe,
    };
  }

  /**
   * Takes one datagram of types 1–3 (the caller routes `d`, KRPC, elsewhere). Never throws:
   * whatever is wrong with the packet, it is dropped without reply and counted in `stats.dropped`.
   */
  receive(datagram: Uint8Array, from: Address): void {
    if (this.#closed) return;
    this.#counters.packetsReceived++;
    try {
      const packet = datagram instanceof Uint8Array ? parsePacket(datagram) : null;
      if (!packet) return this.#drop("malformed");
      const source = { host: String(from.host), port: Number(from.port) };
      if (packet.type === TYPE_INITIATION) this.#onInitiation(packet, source);
      else if (packet.type === TYPE_RESPONSE) this.#onResponse(packet, source);
      else if (packet.type === TYPE_DATA) this.#onData(packet, source);
    } catch {
      this.#drop("internal");
    }
  }

  /**
   * Sends `text` to the identity `peer` (Ed25519 public key), at `to` unless a session with it
   * exists already (then on that session, wherever the peer is now). Resolves when the peer
   * acknowledged every fragment; rejects with a `DeliveryError` when it did not, or with a
   * ChatError (exit 2) for bad input such as a message over 64 KiB.
   */
  sendMessage(peer: Uint8Array, to: Address, text: string): Promise<Delivery> {
    return new Promise((resolve, reject) => {
      const bytes = this.#validateMessage(peer, text);
      if (!to || typeof to.host !== "string" || !Number.isInteger(to.port) || to.port < 1 || to.port > 65535) {
        throw ChatError.input("BAD_ADDRESS", `Cannot send to address ${JSON.stringify(to)}: expected {host, port}`);
      }
      this.#enqueue(this.#peerFor(peer), bytes, { host: to.host, port: to.port }, resolve, reject);
    });
  }

  /** Sends `text` to a peer we already talk to, on its session (or to its last known address). */
  reply(peer: Uint8Array, text: string): Promise<Delivery> {
    return new Promise((resolve, reject) => {
      const bytes = this.#validateMessage(peer, text);
      const known = this.#peers.get(toHex(peer));
      const address = known?.sessions[0]?.address ?? known?.address;
      if (!known || !address) {
        throw new DeliveryError("NO_SESSION", `Cannot reply to "${formatPublicKey(peer)}": no session with this peer`,
          "Use sendMessage with the peer's address (chat lookup finds it)");
      }
      this.#enqueue(known, bytes, address, resolve, reject);
    });
  }

  /** True if a session with `peer` is established (messages to it need no handshake). */
  hasSession(peer: Uint8Array): boolean {
    const known = this.#peers.get(toHex(peer));
    return known !== undefined && this.#usableSession(known) !== undefined;
  }

  /**
   * Where the session a message to `peer` would use now gets its packets from (it follows the peer
   * as it roams), or undefined when there is no such session (see `hasSession`).
   */
  sessionAddress(peer: Uint8Array): Address | undefined {
    const known = this.#peers.get(toHex(peer));
    const session = known && this.#usableSession(known);
    return session ? { ...session.address } : undefined;
  }

  /** Every message delivered from now on, until `close()`. Consume it, or use `onMessage`. */
  messages(): AsyncIterableIterator<IncomingMessage> {
    const buffered: IncomingMessage[] = [];
    const waiting: ((r: IteratorResult<IncomingMessage>) => void)[] = [];
    const listener = (message: IncomingMessage) => {
      const next = waiting.shift();
      if (next) next({ value: message, done: false });
      else buffered.push(message);
    };
    const finish = () => {
      this.#listeners.delete(listener);
      this.#iteratorEnds.delete(finish);
      for (const next of waiting.splice(0)) next({ value: undefined, done: true });
    };
    this.#listeners.add(listener);
    this.#iteratorEnds.add(finish);
    if (this.#closed) finish();
    const iterator: AsyncIterableIterator<IncomingMessage> = {
      next: () => {
        const message = buffered.shift();
        if (message) return Promise.resolve({ value: message, done: false });
        if (!this.#listeners.has(listener)) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => waiting.push(resolve));
      },
      return: () => {
        finish();
        buffered.length = 0;
        return Promise.resolve({ value: undefined, done: true });
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  /** Closes every session with `peer` (`{"y":"x"}`, keys erased) and fails what is in flight. */
  closeSession(peer: Uint8Array): void {
    const known = this.#peers.get(toHex(peer));
    if (!known) return;
    for (const session of [...known.sessions]) this.#closeSession(session, "SESSION_CLOSED");
    if (known.handshake) this.#failHandshake(known.handshake, "SESSION_CLOSED");
    this.#forgetIfIdle(known);
  }

  /** Closes every session, erases every key, fails every pending message, stops every timer. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const slot of [...this.#slots.values()]) {
      if ("session" in slot) this.#closeSession(slot.session, "ENDPOINT_CLOSED");
    }
    for (const peer of [...this.#peers.values()]) {
      if (peer.handshake) this.#failHandshake(peer.handshake, "ENDPOINT_CLOSED");
      for (const outgoing of peer.queue.splice(0)) this.#fail(outgoing, "ENDPOINT_CLOSED");
    }
    this.#peers.clear();
    this.#timestamps.clear();
    for (const finish of [...this.#iteratorEnds]) finish();
    this.#listeners.clear();
  }

  /** Every live session, for tests that check what gets erased. */
  _sessions(): Session[] {
    const out: Session[] = [];
    for (const slot of this.#slots.values()) if ("session" in slot) out.push(slot.session);
    return out;
  }

  /** Every handshake attempt in progress, for tests that check what gets erased. */
  _initiations(): Initiation[] {
    const out: Initiation[] = [];
    for (const slot of this.#slots.values()) if ("initiation" in slot) out.push(slot.initiation);
    return out;
  }

  // ---- receiving ----

  #onInitiation(packet: InitiationPacket, from: Address): void {
    const limits = this.#limits;
    // Cheap refusals first, so a flood never reaches the four X25519 operations of a handshake.
    if (this.#sessionCount >= limits.maxSessions) return this.#drop("busy");
    if ((this.#pendingBySource.get(from.host) ?? 0) >= limits.maxPendingPerSource) return this.#drop("busy");
    const now = this.#clock();
    if (!this.#sourceLimiter.allow(from.host, now)) return this.#drop("rateLimited");
    if (!this.#globalLimiter.take(now)) return this.#drop("rateLimited");

    const responder = Responder.read(this.#identity, packet);
    if (typeof responder === "string") return this.#drop(responder);
    const key = toHex(responder.peer);
    const last = this.#timestamps.get(key);
    if (last !== undefined && responder.timestamp <= last) {
      responder.erase();
      return this.#drop("timestamp");
    }
    const index = this.#newIndex();
    const { packet: response, keys } = responder.respond(index);
    this.#rememberTimestamp(key, responder.timestamp);
    const session = new Session({
      localIndex: index,
      remoteIndex: responder.remoteIndex,
      peer: responder.peer,
      initiator: false,
      keys,
      address: from,
      now,
      inbox: new Inbox(limits, this.#usage),
    });
    this.#slots.set(index, { session });
    this.#sessionCount++;
    this.#pendingCount++;
    this.#pendingBySource.set(from.host, (this.#pendingBySource.get(from.host) ?? 0) + 1);
    this.#armSession(session);
    this.#counters.handshakesAnswered++;
    this.#transmit(response, from);
  }

  #onResponse(packet: ResponsePacket, from: Address): void {
    const slot = this.#slots.get(packet.receiverIndex);
    if (!slot || !("initiation" in slot)) return this.#drop("unknownIndex");
    const { handshake, initiation } = slot;
    const keys = initiation.consume(packet);
    if (!keys) return this.#drop("decrypt");
    const now = this.#clock();
    handshake.attempts.delete(initiation.index);
    this.#endHandshake(handshake);
    const peer = handshake.peer;
    const session = new Session({
      localIndex: initiation.index,
      remoteIndex: packet.senderIndex,
      peer: peer.publicKey,
      initiator: true,
      keys,
      address: from,
      now,
      inbox: new Inbox(this.#limits, this.#usage),
    });
    this.#slots.set(initiation.index, { session });
    this.#sessionCount++;
    this.#counters.handshakesCompleted++;
    peer.address = from;
    this.#addSession(peer, session);
    this.#armSession(session);
    this.#pump(peer);
  }

  #onData(packet: DataPacket, from: Address): void {
    const slot = this.#slots.get(packet.receiverIndex);
    if (!slot || !("session" in slot)) return this.#drop("unknownIndex");
    const session = slot.session;
    const plaintext = session.open(packet);
    if (typeof plaintext === "string") return this.#drop(plaintext);
    const now = this.#clock();
    session.lastReceived = now;
    if (!session.confirmed) this.#confirm(session, from);
    session.address = from;
    const peer = this.#peers.get(toHex(session.peer));
    if (peer) peer.address = from;
    const frame = decodeFrame(plaintext);
    if (!frame) {
      this.#drop("frame");
    } else if (frame.type === "message") {
      this.#onMessageFrame(session, frame, now);
    } else if (frame.type === "ack") {
      const outgoing = peer?.inflight.get(toHex(frame.id));
      if (outgoing) this.#settle(outgoing);
      else this.#drop("staleAck");
    } else {
      // `{"y":"x"}`: the peer closed; both sides erase the keys (PROTOCOL §6).
      this.#endSession(session, "SESSION_CLOSED");
      return;
    }
    if (session.alive) this.#armSession(session);
  }

  #onMessageFrame(session: Session, frame: MessageFrame, now: number): void {
    const arrival = session.inbox.accept(frame, now);
    switch (arrival.kind) {
      case "duplicate":
        // The first ack may have been lost: acknowledge every duplicate (PROTOCOL §6).
        return this.#ack(session, frame.id);
      case "partial":
        return;
      case "refused":
      case "invalid":
        return this.#drop(arrival.kind === "refused" ? "refused" : "frame");
      case "complete": {
        let text: string;
        try {
          text = strictUtf8.decode(arrival.data);
        } catch {
          return this.#drop("frame");
        }
        session.inbox.remember(arrival.key, now);
        this.#ack(session, frame.id);
        this.#counters.messagesReceived++;
        this.#emit({
          from: session.peer.slice(),
          id: frame.id.slice(),
          text,
          sentAt: arrival.sentAt,
          receivedAt: now,
          address: { ...session.address },
        });
      }
    }
  }

  /** The first authenticated data packet of a responder session: it may now carry messages. */
  #confirm(session: Session, from: Address): void {
    session.confirmed = true;
    this.#pendingCount--;
    this.#releasePending(session);
    const peer = this.#peerFor(session.peer);
    peer.address = from;
    this.#addSession(peer, session);
    this.#pump(peer);
  }

  #emit(message: IncomingMessage): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(message);
      } catch (err) {
        // A listener's bug is the application's, not a dropped packet: surface it, outside receive().
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }

  // ---- sending ----

  #validateMessage(peer: Uint8Array, text: string): Uint8Array {
    if (this.#closed) {
      throw new DeliveryError("ENDPOINT_CLOSED", "Cannot send: the endpoint is closed", "Create a new endpoint");
    }
    if (!(peer instanceof Uint8Array) || peer.length !== 32) {
      throw ChatError.input("BAD_PUBLIC_KEY", "Cannot send: the peer's public key must be 32 bytes");
    }
    if (typeof text !== "string") throw ChatError.input("BAD_MESSAGE", `Cannot send a ${typeof text}: expected text`);
    const bytes = utf8.encode(text);
    if (bytes.length > MAX_MESSAGE_BYTES) {
      throw ChatError.input("MESSAGE_TOO_LARGE", `Cannot send a message of ${bytes.length} bytes: at most ${MAX_MESSAGE_BYTES}`,
        "Split the text into several messages");
    }
    return bytes;
  }

  #enqueue(
    peer: Peer,
    bytes: Uint8Array,
    to: Address,
    resolve: (delivery: Delivery) => void,
    reject: (error: DeliveryError) => void,
  ): void {
    if (peer.x25519 === undefined) {
      try {
        peer.x25519 = x25519FromEd25519Public(peer.publicKey);
      } catch {
        this.#forgetIfIdle(peer);
        throw ChatError.input("BAD_PUBLIC_KEY", `Cannot send to "${formatPublicKey(peer.publicKey)}": not a valid Ed25519 public key`);
      }
    }
    const now = this.#clock();
    const id = this.#random(MESSAGE_ID_LEN).slice(0, MESSAGE_ID_LEN);
    const frames = fragmentMessage(id, now, bytes).map(encodeFrame);
    peer.address ??= to;
    if (!peer.sessions.length && !peer.handshake) peer.address = to;
    peer.queue.push({ id, key: toHex(id), peer, frames, calledAt: now, resolve, reject, firstSentAt: 0, nextAt: 0, gap: 0 });
    this.#pump(peer);
  }

  /** Moves queued messages, in order, onto a usable session while the send window has room. */
  #pump(peer: Peer): void {
    while (!this.#closed && peer.queue.length && this.#windowHasRoom(peer, peer.queue[0] as Outgoing)) {
      const session = this.#usableSession(peer);
      if (!session) {
        if (!peer.handshake && peer.address) this.#startHandshake(peer, peer.address);
        return;
      }
      this.#startDelivery(peer.queue.shift() as Outgoing, session);
    }
  }

  /**
   * The send window counts messages, fragments (what all arrives in one burst must fit the
   * receiver's socket buffer) and multi-fragment messages (no more than the receiver reassembles
   * at once). A message always fits an empty window: it has at most SEND_WINDOW_FRAGMENTS.
   */
  #windowHasRoom(peer: Peer, next: Outgoing): boolean {
    if (!peer.inflight.size) return true;
    const fragments = next.frames.length;
    return peer.inflight.size < SEND_WINDOW &&
      peer.inflightFragments + fragments <= SEND_WINDOW_FRAGMENTS &&
      (fragments === 1 || peer.inflightMulti < PARTIAL_PER_SESSION);
  }

  /**
   * The newest session that may start a message: confirmed, with keys, and not within
   * REKEY_MARGIN of its idle or age limit (so its retransmissions never outlive it).
   */
  #usableSession(peer: Peer): Session | undefined {
    const now = this.#clock();
    return peer.sessions.find((s) =>
      s.alive && s.confirmed && s.sent < REKEY_AFTER_COUNTER &&
      now < s.createdAt + SESSION_MAX_AGE - REKEY_MARGIN &&
      now < Math.max(s.lastReceived, s.lastSent) + SESSION_IDLE - REKEY_MARGIN
    );
  }

  #startDelivery(outgoing: Outgoing, session: Session): void {
    const now = this.#clock();
    outgoing.session = session;
    outgoing.firstSentAt = now;
    outgoing.gap = RETRANSMIT_START;
    outgoing.nextAt = now + RETRANSMIT_START;
    const peer = outgoing.peer;
    peer.inflight.set(outgoing.key, outgoing);
    peer.inflightFragments += outgoing.frames.length;
    if (outgoing.frames.length > 1) peer.inflightMulti++;
    for (const frame of outgoing.frames) this.#sendFrame(session, frame);
    this.#armDelivery(outgoing);
  }

  #armDelivery(outgoing: Outgoing): void {
    const at = Math.min(outgoing.nextAt, outgoing.firstSentAt + DELIVERY_TIMEOUT);
    outgoing.timer = this.#timers.setTimeout(() => this.#onDeliveryTimer(outgoing), Math.max(0, at - this.#clock()));
  }

  #onDeliveryTimer(outgoing: Outgoing): void {
    outgoing.timer = undefined;
    const session = outgoing.session as Session;
    const now = this.#clock();
    if (now - outgoing.firstSentAt >= DELIVERY_TIMEOUT) {
      this.#fail(outgoing, "DELIVERY_TIMEOUT");
      // Nothing authenticated came back since we sent: the peer lost the session (restarted, or
      // expired it). Drop ours, so the next message starts a new handshake.
      if (session.lastReceived <= outgoing.firstSentAt) this.#endSession(session, "SESSION_CLOSED");
      this.#pump(outgoing.peer);
      this.#forgetIfIdle(outgoing.peer);
      return;
    }
    // Every fragment again: acks are per message, so we cannot know which fragments arrived.
    this.#counters.retransmissions++;
    for (const frame of outgoing.frames) this.#sendFrame(session, frame);
    outgoing.gap *= 2;
    outgoing.nextAt += outgoing.gap;
    this.#armDelivery(outgoing);
  }

  #settle(outgoing: Outgoing): void {
    this.#stopDelivery(outgoing);
    this.#counters.messagesSent++;
    outgoing.resolve({ id: outgoing.id.slice(), rttMs: this.#clock() - outgoing.calledAt });
    this.#pump(outgoing.peer);
    this.#forgetIfIdle(outgoing.peer);
  }

  #fail(outgoing: Outgoing, reason: DeliveryFailure): void {
    this.#stopDelivery(outgoing);
    this.#counters.messagesFailed++;
    const who = `"${formatPublicKey(outgoing.peer.publicKey)}"`;
    const [message, hint] = failureText(reason, who);
    outgoing.reject(new DeliveryError(reason, message, hint, outgoing.id.slice()));
  }

  #stopDelivery(outgoing: Outgoing): void {
    if (outgoing.timer !== undefined) this.#timers.clearTimeout(outgoing.timer);
    outgoing.timer = undefined;
    const peer = outgoing.peer;
    if (peer.inflight.get(outgoing.key) !== outgoing) return; // still queued: never sent
    peer.inflight.delete(outgoing.key);
    peer.inflightFragments -= outgoing.frames.length;
    if (outgoing.frames.length > 1) peer.inflightMulti--;
  }

  #ack(session: Session, id: Uint8Array): void {
    this.#counters.acksSent++;
    this.#sendFrame(session, encodeFrame({ type: "ack", id }));
  }

  #sendFrame(session: Session, frame: Uint8Array): void {
    const packet = session.seal(frame);
    if (!packet) return;
    session.lastSent = this.#clock();
    this.#transmit(packet, session.address);
  }

  #transmit(datagram: Uint8Array, to: Address): void {
    this.#counters.packetsSent++;
    try {
      this.#send(datagram, to);
    } catch {
      this.#counters.sendErrors++;
    }
  }

  // ---- handshakes (initiator) ----

  #startHandshake(peer: Peer, address: Address): void {
    const now = this.#clock();
    const handshake: Handshake = {
      peer,
      address,
      startedAt: now,
      attempts: new Map(),
      nextAt: now + HANDSHAKE_RETRY_START,
      gap: HANDSHAKE_RETRY_START,
    };
    peer.handshake = handshake;
    this.#initiate(handshake);
    this.#armHandshake(handshake);
  }

  /** One attempt: a fresh ephemeral, a new `t` and a new sender_index (PROTOCOL §6). */
  #initiate(handshake: Handshake): void {
    const index = this.#newIndex();
    const timestamp = Math.max(this.#clock(), this.#lastTimestamp + 1);
    this.#lastTimestamp = timestamp;
    const initiation = new Initiation(this.#identity, handshake.peer.x25519 as Uint8Array, index, timestamp);
    handshake.attempts.set(index, initiation);
    this.#slots.set(index, { handshake, initiation });
    this.#counters.initiationsSent++;
    this.#transmit(initiation.packet, handshake.address);
  }

  #armHandshake(handshake: Handshake): void {
    const at = Math.min(handshake.nextAt, handshake.startedAt + HANDSHAKE_TIMEOUT);
    handshake.timer = this.#timers.setTimeout(() => this.#onHandshakeTimer(handshake), Math.max(0, at - this.#clock()));
  }

  #onHandshakeTimer(handshake: Handshake): void {
    handshake.timer = undefined;
    if (this.#clock() - handshake.startedAt >= HANDSHAKE_TIMEOUT) return this.#failHandshake(handshake, "HANDSHAKE_TIMEOUT");
    this.#initiate(handshake);
    handshake.gap *= 2;
    handshake.nextAt += handshake.gap;
    this.#armHandshake(handshake);
  }

  /** Erases every attempt and stops the timer. */
  #endHandshake(handshake: Handshake): void {
    if (handshake.timer !== undefined) this.#timers.clearTimeout(handshake.timer);
    handshake.timer = undefined;
    for (const [index, initiation] of handshake.attempts) {
      initiation.erase();
      this.#slots.delete(index);
    }
    handshake.attempts.clear();
    if (handshake.peer.handshake === handshake) delete handshake.peer.handshake;
  }

  #failHandshake(handshake: Handshake, reason: DeliveryFailure): void {
    this.#endHandshake(handshake);
    const peer = handshake.peer;
    for (const outgoing of peer.queue.splice(0)) this.#fail(outgoing, reason);
    this.#forgetIfIdle(peer);
  }

  // ---- sessions ----

  #addSession(peer: Peer, session: Session): void {
    peer.sessions.unshift(session);
    for (const old of peer.sessions.splice(SESSIONS_PER_PEER)) this.#endSession(old, "SESSION_CLOSED");
  }

  /** Sends `{"y":"x"}` (if the session may send) and ends it. */
  #closeSession(session: Session, reason: DeliveryFailure): void {
    if (session.confirmed) this.#sendFrame(session, encodeFrame({ type: "close" }));
    this.#endSession(session, reason);
  }

  /** Erases the keys, frees the index, fails its messages in flight. */
  #endSession(session: Session, reason: DeliveryFailure): void {
    if (!this.#slots.has(session.localIndex) || !session.alive) return;
    session.erase();
    this.#slots.delete(session.localIndex);
    this.#sessionCount--;
    const timer = this.#sessionTimers.get(session);
    if (timer) this.#timers.clearTimeout(timer.handle);
    this.#sessionTimers.delete(session);
    if (!session.confirmed) {
      this.#pendingCount--;
      this.#releasePending(session);
      return;
    }
    const peer = this.#peers.get(toHex(session.peer));
    if (!peer) return;
    peer.sessions = peer.sessions.filter((s) => s !== session);
    for (const outgoing of [...peer.inflight.values()]) if (outgoing.session === session) this.#fail(outgoing, reason);
    this.#pump(peer);
    this.#forgetIfIdle(peer);
  }

  #releasePending(session: Session): void {
    const host = session.address.host;
    // Counted under the address the initiation came from, which is where an unconfirmed session
    // still points (it moves only on authenticated data, and confirmation comes first).
    const n = (this.#pendingBySource.get(host) ?? 1) - 1;
    if (n > 0) this.#pendingBySource.set(host, n);
    else this.#pendingBySource.delete(host);
  }

  /** When the session must end or its inbox needs pruning; the timer is moved earlier only. */
  #sessionDeadline(session: Session): number {
    const end = session.confirmed
      ? Math.min(session.createdAt + SESSION_MAX_AGE, Math.max(session.lastReceived, session.lastSent) + SESSION_IDLE)
      : session.createdAt + RESPONDER_CONFIRM_TIMEOUT;
    const prune = session.inbox.nextDeadline();
    return prune === undefined ? end : Math.min(end, prune);
  }

  #armSession(session: Session): void {
    const at = this.#sessionDeadline(session);
    const current = this.#sessionTimers.get(session);
    if (current && current.at <= at) return; // it fires first and re-arms from the state it finds
    if (current) this.#timers.clearTimeout(current.handle);
    const handle = this.#timers.setTimeout(() => this.#onSessionTimer(session), Math.max(0, at - this.#clock()));
    this.#sessionTimers.set(session, { at, handle });
  }

  #onSessionTimer(session: Session): void {
    this.#sessionTimers.delete(session);
    const now = this.#clock();
    const expired = session.confirmed
      ? now >= session.createdAt + SESSION_MAX_AGE || now >= Math.max(session.lastReceived, session.lastSent) + SESSION_IDLE
      : now >= session.createdAt + RESPONDER_CONFIRM_TIMEOUT;
    // Expiry is silent: the peer's clock expires its side too, and a new message handshakes anew.
    if (expired) return this.#endSession(session, "SESSION_CLOSED");
    session.inbox.prune(now);
    this.#armSession(session);
  }

  // ---- tables ----

  #peerFor(publicKey: Uint8Array): Peer {
    const key = toHex(publicKey);
    let peer = this.#peers.get(key);
    if (!peer) {
      peer = { key, publicKey: publicKey.slice(), sessions: [], queue: [], inflight: new Map(), inflightFragments: 0, inflightMulti: 0 };
      this.#peers.set(key, peer);
    }
    return peer;
  }

  #forgetIfIdle(peer: Peer): void {
    if (!peer.sessions.length && !peer.handshake && !peer.queue.length && !peer.inflight.size) {
      if (this.#peers.get(peer.key) === peer) this.#peers.delete(peer.key);
    }
  }

  #rememberTimestamp(key: string, timestamp: number): void {
    this.#timestamps.delete(key);
    this.#timestamps.set(key, timestamp);
    // Forgetting the oldest entry only lets that identity's older initiations be answered again:
    // a replay then costs a session that no one can confirm, dropped after 10 s.
    for (const oldest of this.#timestamps.keys()) {
      if (this.#timestamps.size <= this.#limits.maxTimestamps) break;
      this.#timestamps.delete(oldest);
    }
  }

  /** A random local index not in use. */
  #newIndex(): number {
    for (;;) {
      const b = this.#random(4);
      const index = ((b[0] as number) | ((b[1] as number) << 8) | ((b[2] as number) << 16) | ((b[3] as number) << 24)) >>> 0;
      if (!this.#slots.has(index)) return index;
    }
  }

  #drop(cause: DropCause): void {
    this.#counters.dropped[cause]++;
  }
}
