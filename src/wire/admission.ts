// Admission control for initiations (the responder's side of PROTOCOL §6): cheap refusals before
// any Diffie-Hellman work, and the replay guard on message 1's `t`. Every table here is bounded.
import type { WireLimits } from "./constants.ts";
import { SourceLimiter, TokenBucket } from "./ratelimit.ts";
import type { DropCause } from "./stats.ts";

export class Admission {
  readonly #limits: WireLimits;
  readonly #sourceLimiter: SourceLimiter;
  readonly #globalLimiter: TokenBucket;
  /** Pending (unconfirmed) responder sessions per source host. */
  readonly #pendingBySource = new Map<string, number>();
  /** The last accepted `t` per identity, least recently used first. */
  readonly #timestamps = new Map<string, number>();

  constructor(limits: WireLimits, now: number) {
    this.#limits = limits;
    this.#sourceLimiter = new SourceLimiter(limits.sourceRate, limits.sourceBurst, limits.maxSources);
    this.#globalLimiter = new TokenBucket(limits.globalRate, limits.globalBurst, now);
  }

  get sources(): number {
    return this.#sourceLimiter.size;
  }

  get timestamps(): number {
    return this.#timestamps.size;
  }

  /** Why an initiation from `host` is refused before it is read, or undefined to read it. */
  refuse(host: string, sessions: number, now: number): DropCause | undefined {
    if (sessions >= this.#limits.maxSessions) return "busy";
    if ((this.#pendingBySource.get(host) ?? 0) >= this.#limits.maxPendingPerSource) return "busy";
    if (!this.#sourceLimiter.allow(host, now)) return "rateLimited";
    if (!this.#globalLimiter.take(now)) return "rateLimited";
    return undefined;
  }

  /** PROTOCOL §6 replay guard: `t` must be newer than the last one accepted from `identity`. */
  fresh(identity: string, timestamp: number): boolean {
    const last = this.#timestamps.get(identity);
    return last === undefined || timestamp > last;
  }

  accept(identity: string, timestamp: number): void {
    this.#timestamps.delete(identity);
    this.#timestamps.set(identity, timestamp);
    // Forgetting the oldest entry only lets that identity's older initiations be answered again:
    // a replay then costs a session that no one can confirm, dropped after 10 s.
    for (const oldest of this.#timestamps.keys()) {
      if (this.#timestamps.size <= this.#limits.maxTimestamps) break;
      this.#timestamps.delete(oldest);
    }
  }

  /** A responder session from `host` now awaits its first data packet. */
  addPending(host: string): void {
    this.#pendingBySource.set(host, (this.#pendingBySource.get(host) ?? 0) + 1);
  }

  /** It was confirmed or ended. */
  releasePending(host: string): void {
    const n = (this.#pendingBySource.get(host) ?? 1) - 1;
    if (n > 0) this.#pendingBySource.set(host, n);
    else this.#pendingBySource.delete(host);
  }

  clear(): void {
    this.#timestamps.clear();
  }
}
