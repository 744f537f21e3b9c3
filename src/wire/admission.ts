// Admission control for initiations (the responder's side of PROTOCOL §6): cheap decisions before
// any Diffie-Hellman work, and the replay guard on message 1's `t`. Every table here is bounded,
// and under load none of them grows from a source that has not proven its address with a cookie
// (cookie.ts, WireGuard §5.4.7), so spoofed sources cannot fill one.
import { TIMESTAMP_WINDOW, type WireLimits } from "./constants.ts";
import { SourceLimiter, TokenBucket } from "./ratelimit.ts";
import type { Address } from "./session.ts";
import type { DropCause } from "./stats.ts";

/** How long the endpoint stays under load after the last sign of it (WireGuard: 1 s). */
const LOAD_HOLD = 1000;

/** What to do with an initiation before reading it. */
export type Decision = "read" | "cookie" | DropCause;

export class Admission {
  readonly #limits: WireLimits;
  /** Unproven initiations per source IP (WireGuard's ratelimiter). */
  readonly #sourceLimiter: SourceLimiter;
  /** Initiations with a valid cookie, per source address (IP and port: users behind one NAT). */
  readonly #provenLimiter: SourceLimiter;
  /**
   * And per source IP, at 4 times the rate: one host that proves many ports of its own cannot
   * take the whole global budget (then others behind its NAT share its 80/s, not the flood).
   */
  readonly #provenHosts: SourceLimiter;
  readonly #globalLimiter: TokenBucket;
  readonly #cookieLimiter: TokenBucket;
  /** Pending (unconfirmed) responder sessions per source host. */
  readonly #pendingBySource = new Map<string, number>();
  /** The last accepted `t` per identity, least recently used first. */
  readonly #timestamps = new Map<string, number>();
  /** Under load until then. */
  #loadUntil = -Infinity;

  constructor(limits: WireLimits, now: number) {
    this.#limits = limits;
    this.#sourceLimiter = new SourceLimiter(limits.sourceRate, limits.sourceBurst, limits.maxSources);
    this.#provenLimiter = new SourceLimiter(limits.sourceRate, limits.sourceBurst, limits.maxSources);
    this.#provenHosts = new SourceLimiter(4 * limits.sourceRate, 4 * limits.sourceBurst, limits.maxSources);
    this.#globalLimiter = new TokenBucket(limits.globalRate, limits.globalBurst, now);
    this.#cookieLimiter = new TokenBucket(limits.cookieRate, limits.cookieBurst, now);
  }

  get sources(): number {
    return this.#sourceLimiter.size + this.#provenLimiter.size + this.#provenHosts.size;
  }

  get timestamps(): number {
    return this.#timestamps.size;
  }

  /**
   * Under load — the global budget of DH work half spent, or the session table half full — an
   * initiation without a valid cookie gets a cookie reply instead of being read; so does one from
   * a source IP over its rate, so that a user behind the same NAT as a flooder still gets in.
   * Below load, initiations are read as PROTOCOL §6 says, and a peer without cookies interoperates.
   */
  decide(from: Address, proven: boolean, sessions: number, now: number): Decision {
    if ((this.#pendingBySource.get(from.host) ?? 0) >= this.#limits.maxPendingPerSource) return "busy";
    if (proven) {
      if (!this.#provenLimiter.allow(`${from.host}:${from.port}`, now)) return "rateLimited";
      if (!this.#provenHosts.allow(from.host, now)) return "rateLimited";
      return this.#globalLimiter.take(now) ? "read" : "rateLimited";
    }
    if (this.#globalLimiter.level(now) < this.#limits.globalBurst / 2 || sessions >= this.#limits.maxSessions / 2) {
      this.#loadUntil = now + LOAD_HOLD; // as WireGuard: load ends a while after its cause does
    }
    if (now < this.#loadUntil || !this.#sourceLimiter.allow(from.host, now) || !this.#globalLimiter.take(now)) {
      return this.#cookieLimiter.take(now) ? "cookie" : "rateLimited";
    }
    return "read";
  }

  /**
   * The replay guard: PROTOCOL §6 (`t` newer than the last accepted from `identity`), and
   * docs/PROTOCOL.md §8 (`t` within TIMESTAMP_WINDOW of our clock, so that neither a restart nor a
   * forgotten identity reopens old initiations to replay).
   */
  fresh(identity: string, timestamp: number, now: number): "timestamp" | "stale" | undefined {
    if (Math.abs(timestamp - now) > TIMESTAMP_WINDOW) return "stale";
    const last = this.#timestamps.get(identity);
    return last === undefined || timestamp > last ? undefined : "timestamp";
  }

  accept(identity: string, timestamp: number, now: number): void {
    this.#timestamps.delete(identity);
    this.#timestamps.set(identity, timestamp);
    // An entry older than the window guards nothing the window does not; past the bound, the
    // least recently used goes (its old initiations are then stale or soon will be).
    for (const [oldest, t] of this.#timestamps) {
      if (this.#timestamps.size <= this.#limits.maxTimestamps && t >= now - TIMESTAMP_WINDOW) break;
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
