// The sending side of one remote peer: messages waiting for a session or for room, and the send
// window of messages in flight (PROTOCOL §8: counted in messages, fragments and multi-fragment
// messages).
import { PARTIAL_PER_SESSION, SEND_WINDOW, SEND_WINDOW_FRAGMENTS, SEND_WINDOW_FRAGMENTS_MAX } from "./constants.ts";
import type { Delivery, DeliveryError } from "./delivery.ts";
import type { Session } from "./session.ts";
import type { Backoff } from "./timers.ts";

/** One message on its way: its encoded frames, its promise and its retransmission schedule. */
export interface Outgoing {
  readonly id: Uint8Array;
  readonly key: string;
  readonly frames: Uint8Array[];
  readonly calledAt: number;
  readonly resolve: (delivery: Delivery) => void;
  readonly reject: (error: DeliveryError) => void;
  /** Set when it starts: the session it travels on and its retransmission schedule. */
  session?: Session;
  backoff?: Backoff;
  /** Sent more than once: its ack says nothing about the window. */
  retransmitted?: boolean;
  /** Due to be resent, but put off for the window's room (send.ts). */
  paced?: boolean;
  /** Due to be resent before its timeout: a message sent after it was acked (send.ts). */
  early?: boolean;
  /** Its latest transmission (first send or resend): the order among the peer's, and when (0: none yet). */
  sentSeq: number;
  sentAt: number;
}

export class Outbox {
  /** Messages waiting for a session or for room in the window, in the order they were sent. */
  readonly queue: Outgoing[] = [];
  /** Messages sent and not yet acknowledged, by message id (`idKey`). */
  readonly inflight = new Map<string, Outgoing>();
  /** The one retransmission timer of the messages in flight (send.ts): when it fires, and its handle. */
  timer: { readonly at: number; readonly handle: unknown } | undefined;
  #fragments = 0;
  #multi = 0;
  /**
   * Fragments allowed in flight, as TCP's congestion window: up by each acked message's fragments
   * (doubling per round trip) to the ceiling, halved when a retransmission was due. A loss also
   * lowers the ceiling for good: a receiver whose socket buffer holds less than the window loses a
   * burst every time it is reached, and each loss waits out a 250 ms retransmission timeout (on a
   * buffer of Linux's default size, probing again and again made 64 KiB messages 2× slower).
   */
  #window = SEND_WINDOW_FRAGMENTS;
  #ceiling = SEND_WINDOW_FRAGMENTS_MAX;
  #transmissions = 0;
  /** The last transmission before the window was last cut: losses of those are of that episode. */
  #recover = 0;

  get empty(): boolean {
    return !this.queue.length && !this.inflight.size;
  }

  /**
   * Whether the next queued message fits: everything in flight may arrive in one burst, which must
   * fit the receiver's socket buffer, and a receiver reassembles only so many messages at once. A
   * message always fits an empty window: it has at most SEND_WINDOW_FRAGMENTS.
   */
  hasRoom(next: Outgoing): boolean {
    if (!this.inflight.size) return true;
    const fragments = next.frames.length;
    return this.inflight.size < SEND_WINDOW &&
      this.#fragments + fragments <= this.#window &&
      (fragments === 1 || this.#multi < PARTIAL_PER_SESSION);
  }

  /** Moves a message into the window. */
  start(outgoing: Outgoing, now: number): void {
    outgoing.sentSeq = ++this.#transmissions;
    outgoing.sentAt = now;
    this.inflight.set(outgoing.key, outgoing);
    this.#fragments += outgoing.frames.length;
    if (outgoing.frames.length > 1) this.#multi++;
  }

  /** Takes a message out of the window; false if it was never in it (still queued). */
  finish(outgoing: Outgoing): boolean {
    if (this.inflight.get(outgoing.key) !== outgoing) return false;
    this.inflight.delete(outgoing.key);
    this.#fragments -= outgoing.frames.length;
    if (outgoing.frames.length > 1) this.#multi--;
    return true;
  }

  /** `outgoing` goes again, every fragment. */
  resent(outgoing: Outgoing, now: number): void {
    outgoing.retransmitted = true;
    outgoing.sentSeq = ++this.#transmissions;
    outgoing.sentAt = now;
  }

  /** `outgoing` was acknowledged: the window grows unless it had to be sent again. */
  acked(outgoing: Outgoing): void {
    if (!outgoing.retransmitted) this.#window = Math.min(this.#ceiling, this.#window + outgoing.frames.length);
  }

  /**
   * A message last sent as transmission `sentSeq` was lost (or the receiver is slow to take
   * messages). One cut per loss episode, as NewReno's recovery point (RFC 6582): messages sent
   * before the last cut were lost to the burst that caused it.
   */
  lost(sentSeq: number): void {
    if (sentSeq <= this.#recover) return;
    this.#recover = this.#transmissions;
    this.#window = this.#ceiling = Math.max(SEND_WINDOW_FRAGMENTS, this.#window >> 1);
  }

  /** Fragments allowed in flight now. */
  get window(): number {
    return this.#window;
  }
}
