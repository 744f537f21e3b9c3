// The initiator's side of PROTOCOL §6: a handshake with a peer, attempt after attempt on the
// backoff of timers.ts until one is answered or HANDSHAKE_TIMEOUT, each attempt on every path of
// the peer's route at once (PROTOCOL §9); the cookie a responder under load asks for (docs §8); and
// the response that turns an attempt into a session.
import { COOKIE_USE_FOR, HANDSHAKE_RETRY_START, HANDSHAKE_TIMEOUT } from "./constants.ts";
import { openCookieReply, withCookie } from "./cookie.ts";
import type { DeliveryFailure } from "./delivery.ts";
import { Initiation, type WireIdentity } from "./handshake.ts";
import type { IndexTable } from "./index_table.ts";
import type { CookieReplyPacket, ResponsePacket } from "./packets.ts";
import { direct, firstAttemptPaths, punchAddresses, type Route, routePaths, sameAddress } from "./path.ts";
import type { Handshake, Peer, Peers } from "./peer.ts";
import { type Arrival, peerAddress, type Roaming } from "./roaming.ts";
import type { Sender } from "./send.ts";
import { type Address, Session } from "./session.ts";
import type { Sessions } from "./sessions.ts";
import { type Counters, drop } from "./stats.ts";
import { Backoff, type Timers } from "./timers.ts";

export interface DialerOptions {
  readonly identity: WireIdentity;
  readonly clock: () => number;
  readonly timers: Timers;
  readonly counters: Counters;
  readonly slots: IndexTable;
  readonly peers: Peers;
  readonly sender: Sender;
  readonly sessions: Sessions;
  readonly roaming: Roaming;
}

export class Dialer {
  readonly #identity: WireIdentity;
  readonly #clock: () => number;
  readonly #timers: Timers;
  readonly #counters: Counters;
  readonly #slots: IndexTable;
  readonly #peers: Peers;
  readonly #sender: Sender;
  readonly #sessions: Sessions;
  readonly #roaming: Roaming;
  /** The `t` of our latest initiation: strictly increasing, whatever the clock does. */
  #lastTimestamp = 0;

  constructor(options: DialerOptions) {
    this.#identity = options.identity;
    this.#clock = options.clock;
    this.#timers = options.timers;
    this.#counters = options.counters;
    this.#slots = options.slots;
    this.#peers = options.peers;
    this.#sender = options.sender;
    this.#sessions = options.sessions;
    this.#roaming = options.roaming;
  }

  start(peer: Peer, route: Route): void {
    const backoff = new Backoff(this.#clock(), HANDSHAKE_RETRY_START, HANDSHAKE_TIMEOUT);
    const handshake: Handshake = { peer, paths: routePaths(route), attempts: new Map(), backoff, cookied: new Set() };
    peer.handshake = handshake;
    this.#initiate(handshake);
    this.#arm(handshake);
  }

  /**
   * One attempt: a fresh ephemeral, a new `t` and a new sender_index (PROTOCOL §6), sent on every
   * path at once: the responder's replay guard drops the copies after the first (PROTOCOL §9).
   */
  #initiate(handshake: Handshake): void {
    const index = this.#slots.newIndex();
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
      this.#sender.transmit(proved ? withCookie(initiation.packet, proof.value) : initiation.packet, path);
    }
  }

  #arm(handshake: Handshake): void {
    const at = handshake.backoff.dueAt;
    handshake.timer = this.#timers.setTimeout(() => this.#onTimer(handshake), Math.max(0, at - this.#clock()));
  }

  #onTimer(handshake: Handshake): void {
    handshake.timer = undefined;
    if (handshake.backoff.expired(this.#clock())) return this.fail(handshake, "HANDSHAKE_TIMEOUT");
    this.#initiate(handshake);
    handshake.backoff.advance();
    this.#arm(handshake);
  }

  /** Erases every attempt and stops the timer. */
  #end(handshake: Handshake): void {
    if (handshake.timer !== undefined) this.#timers.clearTimeout(handshake.timer);
    handshake.timer = undefined;
    for (const [index, initiation] of handshake.attempts) {
      initiation.erase();
      this.#slots.delete(index);
    }
    handshake.attempts.clear();
    if (handshake.peer.handshake === handshake) delete handshake.peer.handshake;
  }

  /** Ends the handshake and fails every message that waited for it. */
  fail(handshake: Handshake, reason: DeliveryFailure): void {
    this.#end(handshake);
    const peer = handshake.peer;
    this.#sender.failQueued(peer, reason);
    this.#peers.forgetIfIdle(peer);
  }

  /** Message 2 for one of our attempts: the handshake is done, the attempt becomes a session. */
  onResponse(packet: ResponsePacket, arrival: Arrival): void {
    const slot = this.#slots.get(packet.receiverIndex);
    if (!slot || !("initiation" in slot)) return drop(this.#counters, "unknownIndex");
    const { handshake, initiation } = slot;
    const path = this.#roaming.pathOf(arrival, handshake.paths);
    if (!path) return drop(this.#counters, "relay");
    const keys = initiation.consume(packet);
    if (!keys) return drop(this.#counters, "decrypt");
    const now = this.#clock();
    handshake.attempts.delete(initiation.index);
    this.#end(handshake);
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
      inbox: this.#sessions.newInbox(peerAddress(arrival).host),
    });
    this.#counters.handshakesCompleted++;
    this.#sessions.addEstablished(peer, session);
  }

  /** A responder under load wants proof of our address: resend the attempt with its cookie. */
  onCookieReply(packet: CookieReplyPacket, from: Address): void {
    const slot = this.#slots.get(packet.receiverIndex);
    if (!slot || !("initiation" in slot)) return drop(this.#counters, "unknownIndex");
    const { handshake, initiation } = slot;
    const cookie = openCookieReply(packet.bytes, initiation.packet, handshake.peer.x25519 as Uint8Array);
    if (!cookie) return drop(this.#counters, "cookie");
    this.#counters.cookiesReceived++;
    handshake.cookie = { value: cookie, at: this.#clock(), from };
    if (handshake.cookied.has(initiation.index)) return;
    handshake.cookied.add(initiation.index);
    this.#sender.transmit(withCookie(initiation.packet, cookie), direct(from));
  }
}
