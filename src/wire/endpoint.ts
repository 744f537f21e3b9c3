// The session layer of PROTOCOL §6 behind one object: it takes datagrams in (`receive`) and hands
// datagrams out (the `send` callback), so it knows nothing of sockets and runs on virtual time in
// tests. Every remotely created piece of state is bounded (constants.ts WireLimits); a packet that
// does not parse, authenticate or name a known index is dropped unanswered and counted. This file
// is the public API, the wiring and the dispatch of packets by type; each job is in its own file,
// as in wireguard-go: answering initiations (accept.ts), our handshakes (dialer.ts), the send path
// (send.ts), data packets in (receive.ts), session lifecycle and timers (sessions.ts), paths and
// roaming (roaming.ts), and the tables of peers (peer.ts) and local indices (index_table.ts). What
// they rely on: admission of initiations (admission.ts), the send window (outbox.ts), every clock
// rule (timers.ts), the handshake messages (handshake.ts), one session's crypto (session.ts), the
// load defence (cookie.ts), fair shares of the session table (fairness.ts) and the queue of
// delivered messages, acked once the application takes them (mailbox.ts).
import { randomBytes } from "@noble/hashes/utils.js";
import { formatPublicKey, isX25519FormOf } from "../crypto/identity.ts";
import { ChatError } from "../errors.ts";
import {
  DEFAULT_LIMITS,
  KEEPALIVE_AFTER,
  MAX_MESSAGE_BYTES,
  TYPE_COOKIE_REPLY,
  TYPE_DATA,
  TYPE_INITIATION,
  TYPE_INITIATION_COOKIE,
  TYPE_RELAYED,
  TYPE_RESPONSE,
  type WireLimits,
} from "./constants.ts";
import { Acceptor } from "./accept.ts";
import { Admission } from "./admission.ts";
import { CookieJar } from "./cookie.ts";
import { type Delivery, DeliveryError, type IncomingMessage } from "./delivery.ts";
import { Dialer } from "./dialer.ts";
import { SourceShares } from "./fairness.ts";
import type { Initiation, WireIdentity } from "./handshake.ts";
import { IndexTable } from "./index_table.ts";
import { Mailbox, type MessagesOptions } from "./mailbox.ts";
import { parsePacket } from "./packets.ts";
import { checkRoute, pathKind, type Route } from "./path.ts";
import { Peers } from "./peer.ts";
import { DeliveryRates } from "./ratelimit.ts";
import { Receiver } from "./receive.ts";
import { parseRelayPacket } from "./relay_packets.ts";
import { type Arrival, Roaming } from "./roaming.ts";
import { Sender } from "./send.ts";
import type { Address, Session } from "./session.ts";
import { Sessions } from "./sessions.ts";
import { type Counters, drop, newCounters, type WireStats } from "./stats.ts";
import { defaultTimers, type Timers } from "./timers.ts";
import { abytes } from "./_bytes.ts";

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

const utf8 = new TextEncoder();

/**
 * A chat/1 session endpoint: handshakes, sessions, reliable messages (PROTOCOL §6). Datagrams go
 * out through `send` and come in through `receive`; the owner of the socket routes KRPC (`d`)
 * elsewhere. Timers run while sessions or messages are pending: call `close()` when done.
 */
export class SessionEndpoint {
  readonly #identity: WireIdentity;
  readonly #mailbox: Mailbox;
  readonly #admission: Admission;
  readonly #counters: Counters = newCounters();
  readonly #peers = new Peers();
  readonly #slots: IndexTable;
  readonly #sender: Sender;
  readonly #roaming: Roaming;
  readonly #sessions: Sessions;
  readonly #dialer: Dialer;
  readonly #acceptor: Acceptor;
  readonly #receiver: Receiver;
  #closed = false;

  constructor(options: SessionEndpointOptions) {
    const { identity } = options;
    abytes(identity?.publicKey, 32, "identity.publicKey");
    abytes(identity?.x25519?.secretKey, 32, "identity.x25519.secretKey");
    abytes(identity?.x25519?.publicKey, 32, "identity.x25519.publicKey");
    if (typeof options.send !== "function") throw new TypeError(`"send" expected a function`);
    // PROTOCOL §2: one identity, two forms. Peers check exactly this in message 1, so a mismatch
    // here would only surface as handshakes that time out.
    if (!isX25519FormOf(identity.publicKey, identity.x25519.publicKey)) {
      throw new RangeError(`"identity.x25519.publicKey" is not the X25519 form of "identity.publicKey"`);
    }
    this.#identity = identity;
    const clock = options.clock ?? Date.now;
    const timers = options.timers ?? defaultTimers;
    const random = options.random ?? randomBytes;
    const limits: WireLimits = { ...DEFAULT_LIMITS, ...options.limits };
    const counters = this.#counters;
    const peers = this.#peers;
    this.#mailbox = new Mailbox(limits);
    if (options.onMessage) this.#mailbox.listen(options.onMessage);
    const admission = (this.#admission = new Admission(limits, clock()));
    const cookies = new CookieJar(identity.x25519.publicKey, random, clock());
    const shares = new SourceShares(limits);
    const rates = new DeliveryRates(limits);
    // Each job gets only what it uses. The send path sits below the dialer and the sessions, so it
    // reaches them through hooks (send.ts), bound once here.
    const slots = (this.#slots = new IndexTable(random));
    const sender = (this.#sender = new Sender({
      send: options.send,
      clock,
      timers,
      random,
      counters,
      peers,
      closed: () => this.#closed,
      startHandshake: (peer, route) => this.#dialer.start(peer, route),
      endSession: (session, reason) => this.#sessions.end(session, reason),
    }));
    const roaming = (this.#roaming = new Roaming(clock, peers, sender));
    const keepalive = options.keepalive ?? KEEPALIVE_AFTER;
    const sessions = (this.#sessions = new Sessions({ clock, timers, limits, keepalive, slots, peers, sender, admission, shares }));
    this.#dialer = new Dialer({ identity, clock, timers, counters, slots, peers, sender, sessions, roaming });
    this.#acceptor = new Acceptor({ identity, clock, limits, counters, slots, admission, cookies, shares, sender, sessions, roaming });
    this.#receiver = new Receiver({ clock, counters, slots, peers, sender, sessions, roaming, mailbox: this.#mailbox, rates });
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
    this.#sessions.behindNat = value;
  }

  /** The relays we are registered with (PROTOCOL §9): initiations relayed by others are dropped. */
  useRelays(relays: readonly Address[]): void {
    this.#roaming.useRelays(relays);
  }

  /** Counters since creation and the current size of every bounded table. */
  get stats(): WireStats {
    let handshakes = 0;
    for (const peer of this.#peers.values()) if (peer.handshake) handshakes++;
    return {
      ...this.#counters,
      dropped: { ...this.#counters.dropped },
      sessions: this.#sessions.count - this.#sessions.pending,
      pendingSessions: this.#sessions.pending,
      handshakes,
      peers: this.#peers.size,
      sources: this.#admission.sources,
      timestamps: this.#admission.timestamps,
      partialBytes: this.#sessions.usage.partialBytes,
      dedupe: this.#sessions.usage.dedupe,
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
      if (!(datagram instanceof Uint8Array)) return drop(this.#counters, "malformed");
      const relayed = datagram[0] === TYPE_RELAYED ? parseRelayPacket(datagram) : undefined;
      if (relayed !== undefined && relayed?.type !== TYPE_RELAYED) return drop(this.#counters, "malformed");
      const packet = parsePacket(relayed ? relayed.inner : datagram);
      if (!packet) return drop(this.#counters, "malformed");
      const source = { host: String(from.host), port: Number(from.port) };
      const arrival: Arrival = relayed ? { via: "relayed", relay: source, peer: relayed.address } : { via: "direct", address: source };
      if (packet.type === TYPE_INITIATION || packet.type === TYPE_INITIATION_COOKIE) this.#acceptor.onInitiation(packet, arrival);
      else if (packet.type === TYPE_RESPONSE) this.#dialer.onResponse(packet, arrival);
      else if (packet.type === TYPE_DATA) this.#receiver.onData(packet, arrival);
      else if (packet.type === TYPE_COOKIE_REPLY && arrival.via === "direct") this.#dialer.onCookieReply(packet, arrival.address);
    } catch {
      drop(this.#counters, "internal");
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
      this.#sender.enqueue(this.#peers.getOrAdd(peer), bytes, checkRoute(to), resolve, reject);
    });
  }

  /** Sends `text` to a peer we already talk to, on its session (or to its last known address). */
  reply(peer: Uint8Array, text: string): Promise<Delivery> {
    return new Promise((resolve, reject) => {
      const bytes = this.#validateMessage(peer, text);
      const known = this.#peers.get(peer);
      if (!known?.route) throw DeliveryError.of("NO_SESSION", `"${formatPublicKey(peer)}"`);
      this.#sender.enqueue(known, bytes, undefined, resolve, reject);
    });
  }

  /** True if a session with `peer` is established (messages to it need no handshake). */
  hasSession(peer: Uint8Array): boolean {
    const known = this.#peers.get(peer);
    return known !== undefined && this.#sender.usableSession(known) !== undefined;
  }

  /**
   * Where the session a message to `peer` would use now gets its packets from (it follows the peer
   * as it roams), or undefined when there is no such session (see `hasSession`).
   */
  sessionAddress(peer: Uint8Array): Address | undefined {
    const known = this.#peers.get(peer);
    const session = known && this.#sender.usableSession(known);
    return session ? { ...session.address } : undefined;
  }

  /** Whether the session a message to `peer` would use now is direct or relayed (PROTOCOL §9). */
  sessionPath(peer: Uint8Array): "direct" | "relayed" | undefined {
    const known = this.#peers.get(peer);
    const session = known && this.#sender.usableSession(known);
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
    const known = this.#peers.get(peer);
    if (!known) return;
    for (const session of [...known.sessions]) this.#sessions.close(session, "SESSION_CLOSED");
    if (known.handshake) this.#dialer.fail(known.handshake, "SESSION_CLOSED");
    this.#peers.forgetIfIdle(known);
  }

  /** Closes every session, erases every key, fails every pending message, stops every timer. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const slot of [...this.#slots.values()]) {
      if ("session" in slot) this.#sessions.close(slot.session, "ENDPOINT_CLOSED");
    }
    for (const peer of [...this.#peers.values()]) {
      if (peer.handshake) this.#dialer.fail(peer.handshake, "ENDPOINT_CLOSED");
      this.#sender.failQueued(peer, "ENDPOINT_CLOSED");
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
}
