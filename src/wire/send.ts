// The send path (as wireguard-go's send.go): messages from the queue onto a session while the send
// window has room, their retransmissions until the ack or DELIVERY_TIMEOUT, acks, and the sealing
// of every frame onto the session's path. What it cannot do itself — start a handshake, end a
// session the peer lost — it asks of the endpoint through `SenderHooks`, so it imports neither.
import { formatPublicKey, x25519FromEd25519Public } from "../crypto/identity.ts";
import { ChatError } from "../errors.ts";
import { DELIVERY_TIMEOUT, MESSAGE_ID_LEN, PUNCH_WINDOW, REORDER_MIN, RETRANSMIT_PACE, RETRANSMIT_START } from "./constants.ts";
import { DeliveryError, type Delivery, type DeliveryFailure } from "./delivery.ts";
import { fragmentMessage } from "./fragment.ts";
import { encodeFrame } from "./frames.ts";
import type { Outgoing } from "./outbox.ts";
import { direct, type Path, pathKind, type Route, wrap } from "./path.ts";
import type { Peer, Peers } from "./peer.ts";
import type { Address, Session } from "./session.ts";
import type { Counters } from "./stats.ts";
import { Backoff, mayStartMessage, type Timers } from "./timers.ts";
import { idKey } from "./_bytes.ts";

const KEEPALIVE = encodeFrame({ type: "keepalive" });
const ID_BATCH = 64;

/** What the send path needs from the rest of the endpoint. */
export interface SenderHooks {
  /** Whether the endpoint is closed: then nothing more is sent. */
  readonly closed: () => boolean;
  /** Starts a handshake for a peer whose queue has no usable session. */
  readonly startHandshake: (peer: Peer, route: Route) => void;
  /** Ends a session the peer lost (a message timed out with nothing heard since it was sent). */
  readonly endSession: (session: Session, reason: DeliveryFailure) => void;
}

export interface SenderOptions extends SenderHooks {
  readonly send: (datagram: Uint8Array, to: Address) => void;
  readonly clock: () => number;
  readonly timers: Timers;
  readonly random: (length: number) => Uint8Array;
  readonly counters: Counters;
  readonly peers: Peers;
}

export class Sender {
  readonly #send: (datagram: Uint8Array, to: Address) => void;
  readonly #clock: () => number;
  readonly #timers: Timers;
  readonly #random: (length: number) => Uint8Array;
  readonly #counters: Counters;
  readonly #peers: Peers;
  readonly #hooks: SenderHooks;
  #ids = new Uint8Array(0);

  constructor(options: SenderOptions) {
    this.#send = options.send;
    this.#clock = options.clock;
    this.#timers = options.timers;
    this.#random = options.random;
    this.#counters = options.counters;
    this.#peers = options.peers;
    this.#hooks = options;
  }

  /** Queues a message (UTF-8 `bytes`, already checked) for `peer`; `to` becomes its route if it has none. */
  enqueue(
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
        this.#peers.forgetIfIdle(peer);
        throw ChatError.input("BAD_PUBLIC_KEY", `Cannot send to "${formatPublicKey(peer.publicKey)}": not a valid Ed25519 public key`);
      }
    }
    const now = this.#clock();
    const id = this.#messageId();
    const frames = fragmentMessage(id, now, bytes).map(encodeFrame);
    if (to && (!peer.route || (!peer.sessions.length && !peer.handshake))) peer.route = to;
    peer.outbox.queue.push({ id, key: idKey(id), frames, calledAt: now, resolve, reject, sentSeq: 0, sentAt: 0 });
    this.pump(peer);
  }

  /** A fresh random message id, cut from a batch (one CSPRNG call per message was 5 % of the path). */
  #messageId(): Uint8Array {
    if (this.#ids.length < MESSAGE_ID_LEN) this.#ids = this.#random(MESSAGE_ID_LEN * ID_BATCH).slice();
    const id = this.#ids.slice(0, MESSAGE_ID_LEN);
    this.#ids = this.#ids.subarray(MESSAGE_ID_LEN);
    return id;
  }

  /** Moves queued messages, in order, onto a usable session while the send window has room. */
  pump(peer: Peer): void {
    const { queue } = peer.outbox;
    while (!this.#hooks.closed() && queue.length && peer.outbox.hasRoom(queue[0] as Outgoing)) {
      const session = this.usableSession(peer);
      if (!session) {
        if (!peer.handshake && peer.route) this.#hooks.startHandshake(peer, peer.route);
        return;
      }
      this.#startDelivery(peer, queue.shift() as Outgoing, session);
    }
  }

  /** The newest session that may start a message (timers.ts). */
  usableSession(peer: Peer): Session | undefined {
    const now = this.#clock();
    return peer.sessions.find((s) => mayStartMessage(s, now));
  }

  #startDelivery(peer: Peer, outgoing: Outgoing, session: Session): void {
    outgoing.session = session;
    outgoing.backoff = new Backoff(this.#clock(), RETRANSMIT_START, DELIVERY_TIMEOUT);
    peer.outbox.start(outgoing, this.#clock());
    for (const frame of outgoing.frames) this.sendFrame(session, frame);
    this.#arm(peer, outgoing.backoff.dueAt);
  }

  /**
   * One timer per peer, for the earliest retransmission or expiry among its messages in flight: a
   * timer per message was set and cleared for every message, where most are acked within a few ms.
   */
  #arm(peer: Peer, at: number): void {
    const current = peer.outbox.timer;
    if (current && current.at <= at) return; // it fires first and re-arms from what it finds
    if (current) this.#timers.clearTimeout(current.handle);
    const handle = this.#timers.setTimeout(() => this.#onDeliveryTimer(peer), Math.max(0, at - this.#clock()));
    peer.outbox.timer = { at, handle };
  }

  #onDeliveryTimer(peer: Peer): void {
    peer.outbox.timer = undefined;
    this.#resendDue(peer);
  }

  /** Fails what expired and resends what is due, then arms the timer for what comes next. */
  #resendDue(peer: Peer): void {
    const now = this.#clock();
    let failed = false;
    let budget: number | undefined; // fragments that may go now: the window (cut) less those on the wire
    for (const outgoing of [...peer.outbox.inflight.values()]) {
      const backoff = outgoing.backoff as Backoff;
      // Settled or failed by an earlier one of this loop (its session ended), or not due yet (one
      // waiting for room is due whenever it fits).
      if (peer.outbox.inflight.get(outgoing.key) !== outgoing || (backoff.dueAt > now && !outgoing.paced)) continue;
      const session = outgoing.session as Session;
      if (backoff.expired(now)) {
        this.fail(peer, outgoing, "DELIVERY_TIMEOUT");
        failed = true;
        // Nothing authenticated came back since we sent: the peer lost the session (restarted, or
        // expired it). Drop ours, so the next message starts a new handshake.
        if (session.lastReceived <= backoff.startedAt) this.#hooks.endSession(session, "SESSION_CLOSED");
        continue;
      }
      if (budget === undefined) {
        // A loss, unless this is the rest of the last one's resends (paced: not a new loss).
        if (!outgoing.paced) peer.outbox.lost(outgoing.sentSeq);
        budget = peer.outbox.window - this.#onWire(peer, now);
      }
      outgoing.paced = outgoing.frames.length > budget;
      if (outgoing.paced) {
        backoff.retryAt(now + RETRANSMIT_PACE);
        continue;
      }
      budget -= outgoing.frames.length;
      this.#resend(peer, outgoing);
    }
    let next = Infinity;
    for (const outgoing of peer.outbox.inflight.values()) next = Math.min(next, (outgoing.backoff as Backoff).dueAt);
    if (next < Infinity) this.#arm(peer, next);
    if (failed) this.pump(peer);
    this.#peers.forgetIfIdle(peer);
  }

  /** Fragments in flight and neither due nor waiting for room: sent, and still awaited. */
  #onWire(peer: Peer, now: number): number {
    let fragments = 0;
    for (const o of peer.outbox.inflight.values()) if (!o.paced && (o.backoff as Backoff).dueAt > now) fragments += o.frames.length;
    return fragments;
  }

  /**
   * Every fragment again: acks are per message, so we cannot know which fragments arrived. And on
   * every relay we reached the peer by, not only the current path: that relay may have died.
   */
  #resend(peer: Peer, outgoing: Outgoing): void {
    this.#counters.retransmissions++;
    peer.outbox.resent(outgoing, this.#clock());
    for (const frame of outgoing.frames) this.sendFrame(outgoing.session as Session, frame, true, true);
    if (outgoing.early) (outgoing.backoff as Backoff).earlyRetryMade(this.#clock());
    else (outgoing.backoff as Backoff).advance();
    outgoing.early = false;
  }

  /**
   * Messages sent before one the peer just acknowledged, and not acknowledged within a round trip
   * more (REORDER_MIN at least), lost a fragment: a path mostly keeps the order of what it
   * carries, and a receiver acks each message as it completes. Their retry moves up from the
   * timeout (250 ms on) to then (RACK, RFC 8985, with a reordering window of a whole round trip:
   * an ack per message cannot tell us of a resend that was not needed). The timer resends them as
   * it would have: halving the window, a window's worth at a time; and resends that waited for
   * room go now if the ack made it (true when some wait).
   */
  #resendOvertaken(peer: Peer, acked: Outgoing): boolean {
    // If `acked` was resent, whose copy was acked, and so the round trip, is unknown.
    const rtt = acked.retransmitted ? -1 : this.#clock() - acked.sentAt;
    let earliest = Infinity;
    let waiting = false;
    for (const outgoing of peer.outbox.inflight.values()) {
      waiting ||= outgoing.paced === true;
      if (rtt < 0 || outgoing.sentSeq > acked.sentSeq) continue;
      const lostAt = outgoing.sentAt + Math.max(2 * rtt, REORDER_MIN);
      const backoff = outgoing.backoff as Backoff;
      if (lostAt >= backoff.dueAt) continue;
      backoff.retryAt(lostAt);
      outgoing.early = true;
      earliest = Math.min(earliest, lostAt);
    }
    if (earliest < Infinity) this.#arm(peer, earliest);
    return waiting;
  }

  /** The peer acknowledged `outgoing` (the ack came on `ackPath`). */
  settle(peer: Peer, outgoing: Outgoing, ackPath: Path): void {
    peer.outbox.acked(outgoing);
    this.#stopDelivery(peer, outgoing);
    this.#counters.messagesSent++;
    outgoing.resolve({ id: outgoing.id.slice(), rttMs: this.#clock() - outgoing.calledAt, path: pathKind(ackPath) });
    // Resends put off for room go as the acks make it, not only RETRANSMIT_PACE apart.
    if (this.#resendOvertaken(peer, outgoing)) this.#resendDue(peer);
    this.pump(peer);
    this.#peers.forgetIfIdle(peer);
  }

  fail(peer: Peer, outgoing: Outgoing, reason: DeliveryFailure): void {
    this.#stopDelivery(peer, outgoing);
    this.#counters.messagesFailed++;
    outgoing.reject(DeliveryError.of(reason, `"${formatPublicKey(peer.publicKey)}"`, outgoing.id.slice()));
  }

  /** Fails every message still waiting for a session (the handshake failed, or the endpoint closed). */
  failQueued(peer: Peer, reason: DeliveryFailure): void {
    for (const outgoing of peer.outbox.queue.splice(0)) this.fail(peer, outgoing, reason);
  }

  /** `session` ended: its messages in flight fail, the queue moves to another session. */
  sessionEnded(peer: Peer, session: Session, reason: DeliveryFailure): void {
    for (const outgoing of [...peer.outbox.inflight.values()]) {
      if (outgoing.session === session) this.fail(peer, outgoing, reason);
    }
    this.pump(peer);
    this.#peers.forgetIfIdle(peer);
  }

  #stopDelivery(peer: Peer, outgoing: Outgoing): void {
    peer.outbox.finish(outgoing);
    const timer = peer.outbox.timer;
    if (timer && !peer.outbox.inflight.size) {
      this.#timers.clearTimeout(timer.handle);
      peer.outbox.timer = undefined;
    }
  }

  ack(session: Session, id: Uint8Array): void {
    this.#counters.acksSent++;
    this.sendFrame(session, encodeFrame({ type: "ack", id }));
  }

  /** A keepalive: not activity, so it does not hold an idle session. */
  keepalive(session: Session): void {
    this.sendFrame(session, KEEPALIVE, false);
  }

  /**
   * Seals and sends one frame; a keepalive is not activity (it must not hold an idle session).
   * `spread`: on the session's other relays too (a retransmission).
   */
  sendFrame(session: Session, frame: Uint8Array, activity = true, spread = false): void {
    const packet = session.seal(frame);
    if (!packet) return;
    if (activity) session.lastSent = this.#clock();
    this.sendOnSession(session, packet);
    if (!spread) return;
    for (const path of session.relayPaths) if (path !== session.path) this.transmit(packet, path);
  }

  /** On the session's path, and while it is relayed and young, directly too (the punch). */
  sendOnSession(session: Session, packet: Uint8Array): void {
    this.transmit(packet, session.path);
    if (session.path.via === "direct" || this.#clock() - session.createdAt > PUNCH_WINDOW) return;
    for (const address of session.punch) this.transmit(packet, direct(address));
  }

  transmit(packet: Uint8Array, path: Path): void {
    this.#counters.packetsSent++;
    try {
      const { datagram, to } = wrap(path, packet);
      this.#send(datagram, to);
    } catch {
      this.#counters.sendErrors++;
    }
  }
}
