// The life of a session, from the moment a handshake yields its keys: registered under its index,
// confirmed (a responder's, by the first authenticated data), kept among the peer's newest
// SESSIONS_PER_PEER, closed or ended (keys erased, index freed, messages in flight failed). Its one
// timer per session — end, inbox pruning, keepalive — is armed here from the rules of timers.ts.
import { SESSIONS_PER_PEER, type WireLimits } from "./constants.ts";
import type { Admission } from "./admission.ts";
import type { DeliveryFailure } from "./delivery.ts";
import { groupOf, type SourceShares } from "./fairness.ts";
import { encodeFrame } from "./frames.ts";
import { Inbox, newInboxUsage } from "./fragment.ts";
import type { IndexTable } from "./index_table.ts";
import type { Peer, Peers } from "./peer.ts";
import type { Sender } from "./send.ts";
import type { Session } from "./session.ts";
import { keepaliveDue, sessionEnd, type Timers } from "./timers.ts";

const CLOSE = encodeFrame({ type: "close" });

export interface SessionsOptions {
  readonly clock: () => number;
  readonly timers: Timers;
  readonly limits: WireLimits;
  /** Milliseconds of sending nothing before a session through a NAT sends a keepalive. */
  readonly keepalive: number;
  readonly slots: IndexTable;
  readonly peers: Peers;
  readonly sender: Sender;
  readonly admission: Admission;
  readonly shares: SourceShares;
}

export class Sessions {
  readonly #clock: () => number;
  readonly #timers: Timers;
  readonly #limits: WireLimits;
  readonly #keepalive: number;
  readonly #slots: IndexTable;
  readonly #peers: Peers;
  readonly #sender: Sender;
  readonly #admission: Admission;
  readonly #shares: SourceShares;
  readonly #timerOf = new Map<Session, { at: number; handle: unknown }>();
  /** What every session's inbox holds together (fragment.ts). */
  readonly usage = newInboxUsage();
  #count = 0;
  #pending = 0;
  /** Behind a NAT, every idle session sends keepalives (PROTOCOL §9). */
  #behindNat = false;

  constructor(options: SessionsOptions) {
    this.#clock = options.clock;
    this.#timers = options.timers;
    this.#limits = options.limits;
    this.#keepalive = options.keepalive;
    this.#slots = options.slots;
    this.#peers = options.peers;
    this.#sender = options.sender;
    this.#admission = options.admission;
    this.#shares = options.shares;
  }

  /** Live sessions, confirmed or not. */
  get count(): number {
    return this.#count;
  }

  /** Responder sessions not yet confirmed by the first data packet. */
  get pending(): number {
    return this.#pending;
  }

  set behindNat(value: boolean) {
    this.#behindNat = value;
    for (const slot of this.#slots.values()) if ("session" in slot) this.arm(slot.session);
  }

  /** The inbox of a new session with a peer at `host` (its budget is shared by its source group). */
  newInbox(host: string): Inbox {
    return new Inbox(this.#limits, this.usage, groupOf(host));
  }

  /** A responder's session, unconfirmed until its first authenticated data packet. */
  addPending(session: Session, host: string): void {
    this.#slots.set(session.localIndex, { session });
    this.#shares.add(session, host);
    this.#count++;
    this.#pending++;
    this.#admission.addPending(host);
    this.arm(session);
  }

  /** An initiator's session: confirmed by the response, ready for messages. */
  addEstablished(peer: Peer, session: Session): void {
    this.#slots.set(session.localIndex, { session });
    this.#count++;
    this.#add(peer, session);
    this.arm(session);
    this.#sender.pump(peer);
  }

  /** The first authenticated data packet of a responder session: it may now carry messages. */
  confirm(session: Session): void {
    this.#pending--;
    this.#releasePending(session);
    session.confirmed = true;
    const peer = this.#peers.getOrAdd(session.peer, session.peerKey);
    this.#add(peer, session);
    this.#sender.pump(peer);
  }

  #add(peer: Peer, session: Session): void {
    peer.sessions.unshift(session);
    for (const old of peer.sessions.splice(SESSIONS_PER_PEER)) this.end(old, "SESSION_CLOSED");
  }

  /** Sends `{"y":"x"}` (if the session may send) and ends it. */
  close(session: Session, reason: DeliveryFailure): void {
    if (session.confirmed) this.#sender.sendFrame(session, CLOSE);
    this.end(session, reason);
  }

  /** Erases the keys, frees the index, fails its messages in flight. */
  end(session: Session, reason: DeliveryFailure): void {
    if (!this.#slots.has(session.localIndex) || !session.alive) return;
    session.erase();
    this.#slots.delete(session.localIndex);
    this.#shares.remove(session);
    this.#count--;
    const timer = this.#timerOf.get(session);
    if (timer) this.#timers.clearTimeout(timer.handle);
    this.#timerOf.delete(session);
    if (!session.confirmed) {
      this.#pending--;
      this.#releasePending(session);
      return;
    }
    const peer = this.#peers.get(session.peer, session.peerKey);
    if (!peer) return;
    peer.sessions = peer.sessions.filter((s) => s !== session);
    this.#sender.sessionEnded(peer, session, reason);
  }

  #releasePending(session: Session): void {
    // Counted under the address the initiation came from, which is where an unconfirmed session
    // still points (it moves only on authenticated data, and confirmation comes first).
    this.#admission.releasePending(session.address.host);
  }

  /** Arms the session's timer for its end, its inbox's next pruning or its next keepalive. */
  arm(session: Session): void {
    const at = Math.min(
      sessionEnd(session),
      session.inbox.nextDeadline() ?? Infinity,
      keepaliveDue(session, this.#behindNat, this.#keepalive) ?? Infinity,
    );
    const current = this.#timerOf.get(session);
    if (current && current.at <= at) return; // it fires first and re-arms from the state it finds
    if (current) this.#timers.clearTimeout(current.handle);
    const handle = this.#timers.setTimeout(() => this.#onTimer(session), Math.max(0, at - this.#clock()));
    this.#timerOf.set(session, { at, handle });
  }

  #onTimer(session: Session): void {
    this.#timerOf.delete(session);
    const now = this.#clock();
    // Expiry is silent: the peer's clock expires its side too, and a new message handshakes anew.
    if (now >= sessionEnd(session)) return this.end(session, "SESSION_CLOSED");
    session.inbox.prune(now);
    if (now >= (keepaliveDue(session, this.#behindNat, this.#keepalive) ?? Infinity)) {
      session.lastKeepalive = now;
      this.#sender.keepalive(session);
    }
    this.arm(session);
  }
}
