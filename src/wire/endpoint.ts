// The session layer of PROTOCOL §6 behind one object: it takes datagrams in (`receive`) and hands
// datagrams out (the `send` callback), so it knows nothing of sockets and runs on virtual time in
// tests. Every remotely created piece of state is bounded (constants.ts WireLimits); a packet that
// does not parse, authenticate or name a known index is dropped unanswered and counted. The jobs
// it delegates: admission of initiations (admission.ts), the send window (outbox.ts), every clock
// rule (timers.ts), the handshake messages (handshake.ts), one session's crypto (session.ts), the
// load defence (cookie.ts), fair shares of the session table (fairness.ts) and the queue of
// delivered messages, acked once the application takes them (mailbox.ts).
import { randomBytes } from "@noble/hashes/utils.js";
import { formatPublicKey, x25519FromEd25519Public } from "../crypto/identity.ts";
import { ChatError } from "../errors.ts";
import {
  COOKIE_USE_FOR,
  DEFAULT_LIMITS,
  HANDSHAKE_RETRY_START,
  HANDSHAKE_TIMEOUT,
  DELIVERY_TIMEOUT,
  MAX_MESSAGE_BYTES,
  MESSAGE_ID_LEN,
  RETRANSMIT_START,
  DIRECT_PREFERRED,
  KEEPALIVE_AFTER,
  PUNCH_WINDOW,
  SESSIONS_PER_PEER,
  TYPE_COOKIE_REPLY,
  TYPE_DATA,
  TYPE_INITIATION,
  TYPE_INITIATION_COOKIE,
  TYPE_RELAYED,
  TYPE_RESPONSE,
  type WireLimits,
} from "./constants.ts";
import { Admission } from "./admission.ts";
import { CookieJar, openCookieReply, withCookie } from "./cookie.ts";
import { groupOf, SourceShares } from "./fairness.ts";
import { type Delivery, DeliveryError, type DeliveryFailure, type IncomingMessage } from "./delivery.ts";
import { Inbox, fragmentMessage, newInboxUsage } from "./fragment.ts";
import { decodeFrame, encodeFrame, type MessageFrame } from "./frames.ts";
import { Initiation, Responder, type WireIdentity } from "./handshake.ts";
import { Mailbox, type MessagesOptions } from "./mailbox.ts";
import { Outbox, type Outgoing } from "./outbox.ts";
import { type CookieReplyPacket, type DataPacket, type InitiationPacket, parsePacket, type ResponsePacket } from "./packets.ts";
import {
  checkRoute, direct, firstAttemptPaths, type Path, pathKind, punchAddresses, relayRoutes, type Route, routePaths, sameAddress,
  wrap,
} from "./path.ts";
import { DeliveryRates, type PeerRate } from "./ratelimit.ts";
import { parseRelayPacket } from "./relay_packets.ts";
import { type Address, Session } from "./session.ts";
import { type Counters, type DropCause, newCounters, type WireStats } from "./stats.ts";
import { Backoff, defaultTimers, keepaliveDue, mayStartMessage, sessionEnd, type Timers } from "./timers.ts";
import { abytes, equalBytes, toHex } from "./_bytes.ts";

export type { Address } from "./session.ts";
export type { WireIdentity } from "./handshake.ts";
export { type Delivery, DeliveryError, type DeliveryFailure, type IncomingMessage } from "./delivery.ts";
export type { WireStats } from "./stats.ts";
export type { Timers } from "./timers.ts";
export type { Path, RelayRoute, Route } from "./path.ts";
export type { MessagesOptions } from "./mailbox.ts";

export interface SessionEndpointOptions {
  /** Our identity: Ed25519 public key and its X25519 key pair (PROTOCOL §2). */
  identity: WireIdentity;
  /** Sends one datagram; the endpoint never throws if it throws (counted in `sendErrors`). */
  send: (datagram: Uint8Array, to: Address) => void;
  /** Called once per delivered message; when it returns, the message counts as taken (acked). */
  onMessage?: (message: IncomingMessage) => void;
  /** Unix milliseconds (default `Date.now`). */
  clock?: () => number;
  timers?: Timers;
  /** Random bytes (default: the platform CSPRNG) for indices and message ids. */
  random?: (length: number) => Uint8Array;
  limits?: Partial<WireLimits>;
  /** Milliseconds of sending nothing before a session through a NAT sends a keepalive (default 25 s, PROTOCOL §9). */
  keepalive?: number;
}

/** A handshake in progress with one peer (we initiate). */
interface Handshake {
  readonly peer: Peer;
  /** Every direct address and relay of the peer's route: each attempt goes out on all of them. */
  readonly paths: readonly Path[];
  /** Every attempt stays answerable until one completes: a slow response still counts. */
  readonly attempts: Map<number, Initiation>;
  readonly backoff: Backoff;
  timer?: unknown;
  /** The responder's latest cookie (under load, docs/PROTOCOL.md §8), sent with every attempt. */
  cookie?: { readonly value: Uint8Array; readonly at: number; readonly from: Address };
  /** Attempts already resent with a cookie: once each, the retry timer does the rest. */
  readonly cookied: Set<number>;
}

/** A remote identity we talk to. */
interface Peer {
  readonly key: string;
  readonly publicKey: Uint8Array;
  x25519?: Uint8Array;
  /** Where a new handshake goes: the route given to `sendMessage`, or where the peer was last heard from. */
  route?: Route;
  /** Confirmed sessions, newest first, at most SESSIONS_PER_PEER. */
  sessions: Session[];
  handshake?: Handshake;
  readonly outbox: Outbox;
  /** What it may deliver to us, per second (created with its first message). */
  rate?: PeerRate;
}

/**
 * How a packet arrived: directly from an address, or inside a `relayed` from a relay, which names
 * the other end as it sees it (PROTOCOL §9).
 */
type Arrival = { readonly via: "direct"; readonly address: Address } | { readonly via: "relayed"; readonly relay: Address; readonly peer: Address };
/** The peer's address as an arrival shows it. */
const peerAddress = (arrival: Arrival): Address => (arrival.via === "direct" ? arrival.address : arrival.peer);

/** What a local index names: a session, or one attempt of a handshake. */
type Slot = { readonly session: Session } | { readonly handshake: Handshake; readonly initiation: Initiation };

const KEEPALIVE = encodeFrame({ type: "keepalive" });
const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

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
  readonly #mailbox: Mailbox;
  readonly #cookies: CookieJar;
  readonly #shares: SourceShares;
  readonly #rates: DeliveryRates;

  readonly #slots = new Map<number, Slot>();
  readonly #peers = new Map<string, Peer>();
  readonly #sessionTimers = new Map<Session, { at: number; handle: unknown }>();
  readonly #admission: Admission;
  readonly #usage = newInboxUsage();
  #sessionCount = 0;
  #pendingCount = 0;
  #lastTimestamp = 0;
  #closed = false;
  /** The relays we are registered with: the only ones whose `relayed` initiations we answer. */
  #relays: readonly Address[] = [];
  /** Behind a NAT, every idle session sends keepalives (PROTOCOL §9). */
  #behindNat = false;
  readonly #keepalive: number;
  readonly #counters: Counters = newCounters();

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
    this.#keepalive = options.keepalive ?? KEEPALIVE_AFTER;
    this.#mailbox = new Mailbox(this.#limits);
    if (options.onMessage) this.#mailbox.listen(options.onMessage);
    this.#admission = new Admission(this.#limits, this.#clock());
    this.#cookies = new CookieJar(identity.x25519.publicKey, this.#random, this.#clock());
    this.#shares = new SourceShares(this.#limits);
    this.#rates = new DeliveryRates(this.#limits);
  }

  /** Our Ed25519 public key. */
  get publicKey(): Uint8Array {
    return this.#identity.publicKey.slice();
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Whether we are behind a NAT: then idle sessions send keepalives to hold the mapping. */
  set behindNat(value: boolean) {
    this.#behindNat = value;
    for (const slot of this.#slots.values()) if ("session" in slot) this.#armSession(slot.session);
  }

  /** The relays we are registered with (PROTOCOL §9): initiations relayed by others are dropped. */
  useRelays(relays: readonly Address[]): void {
    this.#relays = relays.map((r) => ({ host: r.host, port: r.port }));
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
      sources: this.#admission.sources,
      timestamps: this.#admission.timestamps,
      partialBytes: this.#usage.partialBytes,
      dedupe: this.#usage.dedupe,
      queued: this.#mailbox.queued.count,
      queuedBytes: this.#mailbox.queued.bytes,
    };
  }

  /**
   * Takes one datagram of types 1–3, 9 or 10 (the caller routes `d`, KRPC, elsewhere). Never throws:
   * whatever is wrong with the packet, it is dropped without reply and counted in `stats.dropped`.
   */
  receive(datagram: Uint8Array, from: Address): void {
    if (this.#closed) return;
    this.#counters.packetsReceived++;
    try {
      if (!(datagram instanceof Uint8Array)) return this.#drop("malformed");
      const relayed = datagram[0] === TYPE_RELAYED ? parseRelayPacket(datagram) : undefined;
      if (relayed !== undefined && relayed?.type !== TYPE_RELAYED) return this.#drop("malformed");
      const packet = parsePacket(relayed ? relayed.inner : datagram);
      if (!packet) return this.#drop("malformed");
      const source = { host: String(from.host), port: Number(from.port) };
      const arrival: Arrival = relayed ? { via: "relayed", relay: source, peer: relayed.address } : { via: "direct", address: source };
      if (packet.type === TYPE_INITIATION || packet.type === TYPE_INITIATION_COOKIE) this.#onInitiation(packet, arrival);
      else if (packet.type === TYPE_RESPONSE) this.#onResponse(packet, arrival);
      else if (packet.type === TYPE_DATA) this.#onData(packet, arrival);
      else if (packet.type === TYPE_COOKIE_REPLY && arrival.via === "direct") this.#onCookieReply(packet, arrival.address);
    } catch {
      this.#drop("internal");
    }
  }

  /**
   * Sends `text` to the identity `peer` (Ed25519 public key), at `to` (an address, or a route of
   * addresses and relays, all tried at once) unless a session with it exists already (then on that
   * session, wherever the peer is now). Resolves when the peer acknowledged every fragment; rejects
   * with a `DeliveryError` when it did not, or with a ChatError (exit 2) for bad input such as a
   * message over 64 KiB.
   */
  sendMessage(peer: Uint8Array, to: Address | Route, text: string): Promise<Delivery> {
    return new Promise((resolve, reject) => {
      const bytes = this.#validateMessage(peer, text);
      this.#enqueue(this.#peerFor(peer), bytes, checkRoute(to), resolve, reject);
    });
  }

  /** Sends `text` to a peer we already talk to, on its session (or to its last known address). */
  reply(peer: Uint8Array, text: string): Promise<Delivery> {
    return new Promise((resolve, reject) => {
      const bytes = this.#validateMessage(peer, text);
      const known = this.#peers.get(toHex(peer));
      if (!known?.route) throw DeliveryError.of("NO_SESSION", `"${formatPublicKey(peer)}"`);
      this.#enqueue(known, bytes, undefined, resolve, reject);
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

  /** Whether the session a message to `peer` would use now is direct or relayed (PROTOCOL §9). */
  sessionPath(peer: Uint8Array): "direct" | "relayed" | undefined {
    const known = this.#peers.get(toHex(peer));
    const session = known && this.#usableSession(known);
    return session ? pathKind(session.path) : undefined;
  }

  /**
   * Every message delivered from now on (and those that waited for a consumer), until `close()`.
   * A message is acked once every iterator yielded it (or, with `{ack: "next"}`, once the consumer
   * asks for the next one); until then it waits in a bounded queue (docs/PROTOCOL.md §8).
   */
  messages(options?: MessagesOptions): AsyncIterableIterator<IncomingMessage> {
    return this.#mailbox.messages(options);
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
      for (const outgoing of peer.outbox.queue.splice(0)) this.#fail(peer, outgoing, "ENDPOINT_CLOSED");
    }
    this.#peers.clear();
    this.#admission.clear();
    this.#mailbox.close();
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

  #onInitiation(packet: InitiationPacket, arrival: Arrival): void {
    // A relayed initiation only through a relay we registered with: nobody else may make us send.
    if (arrival.via === "relayed" && !this.#relays.some((r) => sameAddress(r, arrival.relay))) return this.#drop("relay");
    const from = peerAddress(arrival);
    // Cheap decisions first, so a flood never reaches the four X25519 operations of a handshake.
    const now = this.#clock();
    const proven = packet.type === TYPE_INITIATION_COOKIE && this.#cookies.check(packet.bytes, from, now);
    const decision = this.#admission.decide(from, proven, this.#sessionCount, now);
    if (decision === "cookie") {
      // A cookie proves a direct address: a relayed sender cannot be asked for one (docs §8).
      if (arrival.via === "relayed") return this.#drop("rateLimited");
      this.#counters.cookiesSent++;
      return this.#transmit(this.#cookies.reply(packet.bytes, from, now), direct(from));
    }
    if (decision !== "read") return this.#drop(decision);
    const full = () => this.#sessionCount >= this.#limits.maxSessions;
    if (this.#shares.victimFor(from.host, full()) === null) return this.#drop("busy");

    const responder = Responder.read(this.#identity, packet);
    if (typeof responder === "string") return this.#drop(responder);
    const key = toHex(responder.peer);
    const stale = this.#admission.fresh(key, responder.timestamp, now);
    if (stale) {
      responder.erase();
      return this.#drop(stale);
    }
    // Authenticated and fresh: only now may it take the place of a session (fairness.ts).
    const victim = this.#shares.victimFor(from.host, full());
    if (victim) {
      this.#counters.evictions++;
      this.#closeSession(victim, "SESSION_CLOSED");
    }
    const index = this.#newIndex();
    const { packet: response, keys } = responder.respond(index);
    this.#admission.accept(key, responder.timestamp, now);
    const session = new Session({
      localIndex: index,
      remoteIndex: responder.remoteIndex,
      peer: responder.peer,
      initiator: false,
      keys,
      address: from,
      // PROTOCOL §9: answer through the relay it came by, and directly to the sender (the punch).
      path: arrival.via === "direct" ? direct(from) : { via: "relay-back", relay: arrival.relay, peer: from },
      ...(arrival.via === "relayed" ? { punch: [from] } : {}),
      now,
      inbox: new Inbox(this.#limits, this.#usage, groupOf(from.host)),
    });
    this.#slots.set(index, { session });
    this.#shares.add(session, from.host);
    this.#sessionCount++;
    this.#pendingCount++;
    this.#admission.addPending(from.host);
    this.#armSession(session);
    this.#counters.handshakesAnswered++;
    this.#sendOnSession(session, response);
  }

  #onResponse(packet: ResponsePacket, arrival: Arrival): void {
    const slot = this.#slots.get(packet.receiverIndex);
    if (!slot || !("initiation" in slot)) return this.#drop("unknownIndex");
    const { handshake, initiation } = slot;
    const path = this.#pathOf(arrival, handshake.paths);
    if (!path) return this.#drop("relay");
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
      address: peerAddress(arrival),
      path,
      // Answered through a relay: the first data also goes to every direct address (PROTOCOL §9).
      ...(arrival.via === "relayed" ? { punch: punchAddresses(handshake.paths, arrival.peer) } : {}),
      relayPaths: handshake.paths.filter((p) => p.via === "relay"),
      now,
      inbox: new Inbox(this.#limits, this.#usage, groupOf(peerAddress(arrival).host)),
    });
    this.#slots.set(initiation.index, { session });
    this.#sessionCount++;
    this.#counters.handshakesCompleted++;
    this.#addSession(peer, session);
    this.#armSession(session);
    this.#pump(peer);
  }

  /** A responder under load wants proof of our address: resend the attempt with its cookie. */
  #onCookieReply(packet: CookieReplyPacket, from: Address): void {
    const slot = this.#slots.get(packet.receiverIndex);
    if (!slot || !("initiation" in slot)) return this.#drop("unknownIndex");
    const { handshake, initiation } = slot;
    const cookie = openCookieReply(packet.bytes, initiation.packet, handshake.peer.x25519 as Uint8Array);
    if (!cookie) return this.#drop("cookie");
    this.#counters.cookiesReceived++;
    handshake.cookie = { value: cookie, at: this.#clock(), from };
    if (handshake.cookied.has(initiation.index)) return;
    handshake.cookied.add(initiation.index);
    this.#transmit(withCookie(initiation.packet, cookie), direct(from));
  }

  #onData(packet: DataPacket, arrival: Arrival): void {
    const slot = this.#slots.get(packet.receiverIndex);
    if (!slot || !("session" in slot)) return this.#drop("unknownIndex");
    const session = slot.session;
    const path = this.#pathOf(arrival, session.relayPaths);
    if (!path) return this.#drop("relay");
    const plaintext = session.open(packet);
    if (plaintext === "replay" && path.via === "direct" && session.path.via !== "direct" && session.authentic(packet)) {
      // The direct copy of a packet that came relayed first: the direct path works (PROTOCOL §9).
      this.#usePath(session, path, arrival);
    }
    if (typeof plaintext === "string") return this.#drop(plaintext);
    const now = this.#clock();
    if (!session.confirmed) this.#confirm(session);
    this.#usePath(session, path, arrival);
    const peer = this.#peers.get(toHex(session.peer));
    const frame = decodeFrame(plaintext);
    if (frame?.type !== "keepalive") session.lastReceived = now;
    if (!frame) {
      this.#drop("frame");
    } else if (frame.type === "message") {
      this.#onMessageFrame(session, frame, now);
    } else if (frame.type === "ack") {
      const outgoing = peer?.outbox.inflight.get(toHex(frame.id));
      if (peer && outgoing) this.#settle(peer, outgoing, path);
      else this.#drop("staleAck");
    } else if (frame.type === "close") {
      // `{"y":"x"}`: the peer closed; both sides erase the keys (PROTOCOL §6).
      this.#endSession(session, "SESSION_CLOSED");
      return;
    }
    if (session.alive) this.#armSession(session);
  }

  /** Roaming (PROTOCOL §6, §9): the session answers on the path of its latest authenticated packet. */
  #usePath(session: Session, path: Path, arrival: Arrival): void {
    const now = this.#clock();
    if (path.via !== "direct" && session.path.via === "direct" && now - session.lastDirect < DIRECT_PREFERRED) {
      return; // a relayed copy while the direct path works: stay direct (both paths carry copies)
    }
    const address = peerAddress(arrival);
    const moved = !sameAddress(address, session.address);
    const punched = path.via === "direct" && session.path.via !== "direct";
    session.path = path;
    session.address = address;
    if (path.via === "direct") {
      session.punch = [];
      session.lastDirect = now;
    }
    const peer = this.#peers.get(toHex(session.peer));
    // A new handshake goes where the peer is now, and to the relays we reached it by.
    if (peer && (moved || !peer.route)) peer.route = { addresses: [address], relays: relayRoutes(session.relayPaths) };
    // The punch worked: tell the peer at once with a direct packet, or it keeps answering relayed.
    if (punched && session.confirmed && session.alive) this.#sendFrame(session, KEEPALIVE, false);
  }

  /**
   * The path an arrival names: direct, or one of `relayPaths` (the relays we reached the peer by)
   * for the relay it came through, or `relay-back` through a relay we are registered with.
   * Undefined for a `relayed` from any other address.
   */
  #pathOf(arrival: Arrival, relayPaths: readonly Path[]): Path | undefined {
    if (arrival.via === "direct") return direct(arrival.address);
    const ours = relayPaths.find((p) => p.via === "relay" && sameAddress(p.relay, arrival.relay));
    if (ours) return ours;
    return this.#relays.some((r) => sameAddress(r, arrival.relay))
      ? { via: "relay-back", relay: arrival.relay, peer: arrival.peer }
      : undefined;
  }

  #onMessageFrame(session: Session, frame: MessageFrame, now: number): void {
    const arrival = session.inbox.accept(frame, now);
    switch (arrival.kind) {
      case "duplicate":
        // The first ack may have been lost: acknowledge every duplicate (PROTOCOL §6).
        return this.#ack(session, frame.id);
      case "held":
        return this.#drop("held");
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
        this.#deliver(session, frame.id.slice(), arrival.key, text, arrival.data.length, arrival.sentAt, now);
      }
    }
  }

  /**
   * Hands a complete message to the application; the ack goes when it is taken (mailbox.ts). Over
   * the peer's rate or without room in the queue it is neither delivered nor acked: the sender
   * retransmits, or reports failure (docs/PROTOCOL.md §8).
   */
  #deliver(session: Session, id: Uint8Array, key: string, text: string, bytes: number, sentAt: number, now: number): void {
    const peer = this.#peerFor(session.peer);
    if (!this.#mailbox.hasRoom(peer.key, bytes)) return this.#drop("queueFull");
    peer.rate ??= this.#rates.forPeer(now);
    if (!this.#rates.allow(peer.rate, session.inbox.source, bytes, now)) return this.#drop("peerRate");
    session.inbox.hold(key);
    const message = { from: session.peer.slice(), id, text, sentAt, receivedAt: now, address: { ...session.address }, path: pathKind(session.path) };
    const offered = this.#mailbox.offer(message, bytes, peer.key, {
      taken: () => {
        if (!session.alive) return;
        session.inbox.take(key, this.#clock());
        this.#ack(session, id);
        this.#armSession(session);
      },
      abandoned: () => session.inbox.release(key),
    });
    if (!offered) {
      session.inbox.release(key);
      return this.#drop("queueFull");
    }
    this.#counters.messagesReceived++;
  }

  /** The first authenticated data packet of a responder session: it may now carry messages. */
  #confirm(session: Session): void {
    this.#pendingCount--;
    this.#releasePending(session);
    session.confirmed = true;
    const peer = this.#peerFor(session.peer);
    this.#addSession(peer, session);
    this.#pump(peer);
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
    to: Route | undefined,
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
    if (to && (!peer.route || (!peer.sessions.length && !peer.handshake))) peer.route = to;
    peer.outbox.queue.push({ id, key: toHex(id), frames, calledAt: now, resolve, reject });
    this.#pump(peer);
  }

  /** Moves queued messages, in order, onto a usable session while the send window has room. */
  #pump(peer: Peer): void {
    const { queue } = peer.outbox;
    while (!this.#closed && queue.length && peer.outbox.hasRoom(queue[0] as Outgoing)) {
      const session = this.#usableSession(peer);
      if (!session) {
        if (!peer.handshake && peer.route) this.#startHandshake(peer, peer.route);
        return;
      }
      this.#startDelivery(peer, queue.shift() as Outgoing, session);
    }
  }

  /** The newest session that may start a message (timers.ts). */
  #usableSession(peer: Peer): Session | undefined {
    const now = this.#clock();
    return peer.sessions.find((s) => mayStartMessage(s, now));
  }

  #startDelivery(peer: Peer, outgoing: Outgoing, session: Session): void {
    outgoing.session = session;
    outgoing.backoff = new Backoff(this.#clock(), RETRANSMIT_START, DELIVERY_TIMEOUT);
    peer.outbox.start(outgoing);
    for (const frame of outgoing.frames) this.#sendFrame(session, frame);
    this.#armDelivery(peer, outgoing);
  }

  #armDelivery(peer: Peer, outgoing: Outgoing): void {
    const at = (outgoing.backoff as Backoff).dueAt;
    outgoing.timer = this.#timers.setTimeout(() => this.#onDeliveryTimer(peer, outgoing), Math.max(0, at - this.#clock()));
  }

  #onDeliveryTimer(peer: Peer, outgoing: Outgoing): void {
    outgoing.timer = undefined;
    const session = outgoing.session as Session;
    const backoff = outgoing.backoff as Backoff;
    if (backoff.expired(this.#clock())) {
      this.#fail(peer, outgoing, "DELIVERY_TIMEOUT");
      // Nothing authenticated came back since we sent: the peer lost the session (restarted, or
      // expired it). Drop ours, so the next message starts a new handshake.
      if (session.lastReceived <= backoff.startedAt) this.#endSession(session, "SESSION_CLOSED");
      this.#pump(peer);
      this.#forgetIfIdle(peer);
      return;
    }
    // Every fragment again: acks are per message, so we cannot know which fragments arrived. And
    // on every relay we reached the peer by, not only the current path: that relay may have died.
    this.#counters.retransmissions++;
    for (const frame of outgoing.frames) this.#sendFrame(session, frame, true, true);
    backoff.advance();
    this.#armDelivery(peer, outgoing);
  }

  #settle(peer: Peer, outgoing: Outgoing, ackPath: Path): void {
    this.#stopDelivery(peer, outgoing);
    this.#counters.messagesSent++;
    outgoing.resolve({ id: outgoing.id.slice(), rttMs: this.#clock() - outgoing.calledAt, path: pathKind(ackPath) });
    this.#pump(peer);
    this.#forgetIfIdle(peer);
  }

  #fail(peer: Peer, outgoing: Outgoing, reason: DeliveryFailure): void {
    this.#stopDelivery(peer, outgoing);
    this.#counters.messagesFailed++;
    outgoing.reject(DeliveryError.of(reason, `"${formatPublicKey(peer.publicKey)}"`, outgoing.id.slice()));
  }

  #stopDelivery(peer: Peer, outgoing: Outgoing): void {
    if (outgoing.timer !== undefined) this.#timers.clearTimeout(outgoing.timer);
    outgoing.timer = undefined;
    peer.outbox.finish(outgoing);
  }

  #ack(session: Session, id: Uint8Array): void {
    this.#counters.acksSent++;
    this.#sendFrame(session, encodeFrame({ type: "ack", id }));
  }

  /**
   * Seals and sends one frame; a keepalive is not activity (it must not hold an idle session).
   * `spread`: on the session's other relays too (a retransmission).
   */
  #sendFrame(session: Session, frame: Uint8Array, activity = true, spread = false): void {
    const packet = session.seal(frame);
    if (!packet) return;
    if (activity) session.lastSent = this.#clock();
    this.#sendOnSession(session, packet);
    if (!spread) return;
    for (const path of session.relayPaths) if (path !== session.path) this.#transmit(packet, path);
  }

  /** On the session's path, and while it is relayed and young, directly too (the punch). */
  #sendOnSession(session: Session, packet: Uint8Array): void {
    this.#transmit(packet, session.path);
    if (session.path.via === "direct" || this.#clock() - session.createdAt > PUNCH_WINDOW) return;
    for (const address of session.punch) this.#transmit(packet, direct(address));
  }

  #transmit(packet: Uint8Array, path: Path): void {
    this.#counters.packetsSent++;
    try {
      const { datagram, to } = wrap(path, packet);
      this.#send(datagram, to);
    } catch {
      this.#counters.sendErrors++;
    }
  }

  // ---- handshakes (initiator) ----

  #startHandshake(peer: Peer, route: Route): void {
    const backoff = new Backoff(this.#clock(), HANDSHAKE_RETRY_START, HANDSHAKE_TIMEOUT);
    const handshake: Handshake = { peer, paths: routePaths(route), attempts: new Map(), backoff, cookied: new Set() };
    peer.handshake = handshake;
    this.#initiate(handshake);
    this.#armHandshake(handshake);
  }

  /**
   * One attempt: a fresh ephemeral, a new `t` and a new sender_index (PROTOCOL §6), sent on every
   * path at once: the responder's replay guard drops the copies after the first (PROTOCOL §9).
   */
  #initiate(handshake: Handshake): void {
    const index = this.#newIndex();
    const timestamp = Math.max(this.#clock(), this.#lastTimestamp + 1);
    this.#lastTimestamp = timestamp;
    const initiation = new Initiation(this.#identity, handshake.peer.x25519 as Uint8Array, index, timestamp);
    handshake.attempts.set(index, initiation);
    this.#slots.set(index, { handshake, initiation });
    this.#counters.initiationsSent++;
    // Under load a responder wants a cookie: it proves the address it was sent to us from, so only
    // the direct path to that responder address carries it.
    const paths = handshake.attempts.size === 1 ? firstAttemptPaths(handshake.paths) : handshake.paths;
    const cookie = handshake.cookie;
    const proof = cookie && this.#clock() - cookie.at < COOKIE_USE_FOR ? cookie : undefined;
    for (const path of paths) {
      const proved = proof && path.via === "direct" && sameAddress(path.address, proof.from);
      this.#transmit(proved ? withCookie(initiation.packet, proof.value) : initiation.packet, path);
    }
  }

  #armHandshake(handshake: Handshake): void {
    const at = handshake.backoff.dueAt;
    handshake.timer = this.#timers.setTimeout(() => this.#onHandshakeTimer(handshake), Math.max(0, at - this.#clock()));
  }

  #onHandshakeTimer(handshake: Handshake): void {
    handshake.timer = undefined;
    if (handshake.backoff.expired(this.#clock())) return this.#failHandshake(handshake, "HANDSHAKE_TIMEOUT");
    this.#initiate(handshake);
    handshake.backoff.advance();
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
    for (const outgoing of peer.outbox.queue.splice(0)) this.#fail(peer, outgoing, reason);
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
    this.#shares.remove(session);
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
    for (const outgoing of [...peer.outbox.inflight.values()]) {
      if (outgoing.session === session) this.#fail(peer, outgoing, reason);
    }
    this.#pump(peer);
    this.#forgetIfIdle(peer);
  }

  #releasePending(session: Session): void {
    // Counted under the address the initiation came from, which is where an unconfirmed session
    // still points (it moves only on authenticated data, and confirmation comes first).
    this.#admission.releasePending(session.address.host);
  }

  /** Arms the session's timer for its end, its inbox's next pruning or its next keepalive. */
  #armSession(session: Session): void {
    const at = Math.min(
      sessionEnd(session),
      session.inbox.nextDeadline() ?? Infinity,
      keepaliveDue(session, this.#behindNat, this.#keepalive) ?? Infinity,
    );
    const current = this.#sessionTimers.get(session);
    if (current && current.at <= at) return; // it fires first and re-arms from the state it finds
    if (current) this.#timers.clearTimeout(current.handle);
    const handle = this.#timers.setTimeout(() => this.#onSessionTimer(session), Math.max(0, at - this.#clock()));
    this.#sessionTimers.set(session, { at, handle });
  }

  #onSessionTimer(session: Session): void {
    this.#sessionTimers.delete(session);
    const now = this.#clock();
    // Expiry is silent: the peer's clock expires its side too, and a new message handshakes anew.
    if (now >= sessionEnd(session)) return this.#endSession(session, "SESSION_CLOSED");
    session.inbox.prune(now);
    if (now >= (keepaliveDue(session, this.#behindNat, this.#keepalive) ?? Infinity)) {
      session.lastKeepalive = now;
      this.#sendFrame(session, KEEPALIVE, false);
    }
    this.#armSession(session);
  }

  // ---- tables ----

  #peerFor(publicKey: Uint8Array): Peer {
    const key = toHex(publicKey);
    let peer = this.#peers.get(key);
    if (!peer) {
      peer = { key, publicKey: publicKey.slice(), sessions: [], outbox: new Outbox() };
      this.#peers.set(key, peer);
    }
    return peer;
  }

  #forgetIfIdle(peer: Peer): void {
    if (!peer.sessions.length && !peer.handshake && peer.outbox.empty) {
      if (this.#peers.get(peer.key) === peer) this.#peers.delete(peer.key);
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
