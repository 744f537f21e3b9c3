// Every clock rule of a session in one place (as wireguard-go's timers.go): when a session may
// start a message, when it expires, and the retransmission schedules of messages and handshakes.
import {
  REKEY_AFTER_COUNTER,
  REKEY_MARGIN,
  RESPONDER_CONFIRM_TIMEOUT,
  SESSION_IDLE,
  SESSION_MAX_AGE,
} from "./constants.ts";
import type { Session } from "./session.ts";

/** Timer functions, injectable so tests run in virtual time. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const defaultTimers: Timers = {
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof globalThis.setTimeout>),
};

/** When a session ends: idle or age limits once confirmed, the confirmation timeout before. */
export function sessionEnd(session: Session): number {
  return session.confirmed
    ? Math.min(session.createdAt + SESSION_MAX_AGE, Math.max(session.lastReceived, session.lastSent) + SESSION_IDLE)
    : session.createdAt + RESPONDER_CONFIRM_TIMEOUT;
}

/**
 * When a session sends its next keepalive (PROTOCOL §9, as WireGuard's persistent keepalive):
 * confirmed sessions through a NAT (ours, or the relay's mapping of a relayed path) that sent
 * nothing for `interval` ms. Undefined when it needs none.
 */
export function keepaliveDue(session: Session, behindNat: boolean, interval: number): number | undefined {
  if (!session.confirmed || (!behindNat && session.path.via === "direct")) return undefined;
  return Math.max(session.lastSent, session.lastKeepalive) + interval;
}

/**
 * Whether a session may start a message: confirmed, with keys, and not within REKEY_MARGIN of its
 * idle or age limit (so its retransmissions never outlive it).
 */
export function mayStartMessage(session: Session, now: number): boolean {
  return session.alive && session.confirmed && session.sent < REKEY_AFTER_COUNTER &&
    now < session.createdAt + SESSION_MAX_AGE - REKEY_MARGIN &&
    now < Math.max(session.lastReceived, session.lastSent) + SESSION_IDLE - REKEY_MARGIN;
}

/**
 * A retry schedule that doubles its gaps and gives up `limit` ms after the first try: messages
 * retransmit at +250, 750, 1750, … and handshakes retry at +500, 1500, 3500, … (PROTOCOL §8).
 */
export class Backoff {
  readonly startedAt: number;
  readonly #limit: number;
  #gap: number;
  #next: number;

  constructor(startedAt: number, firstGap: number, limit: number) {
    this.startedAt = startedAt;
    this.#limit = limit;
    this.#gap = firstGap;
    this.#next = startedAt + firstGap;
  }

  /** When the timer should next fire: the next retry, or the end. */
  get dueAt(): number {
    return Math.min(this.#next, this.startedAt + this.#limit);
  }

  expired(now: number): boolean {
    return now - this.startedAt >= this.#limit;
  }

  /** Moves the next retry to `at`, the gap unchanged (a retry not made yet). */
  retryAt(at: number): void {
    this.#next = at;
  }

  /** A retry made before its time (a loss seen early): the next one a whole gap on, not doubled. */
  earlyRetryMade(now: number): void {
    this.#next = now + this.#gap;
  }

  /** Moves to the next retry (call when one was made). */
  advance(): void {
    this.#gap *= 2;
    this.#next += this.#gap;
  }
}
