// Token buckets that keep a flood of initiations from reaching the Diffie-Hellman work: one per
// source IP (as WireGuard's ratelimiter) in a bounded table, and one for the whole endpoint; and
// the message and byte rates of delivery, per peer and per source group.
import type { WireLimits } from "./constants.ts";

/** A bucket of `burst` tokens refilled at `rate` per second. */
export class TokenBucket {
  readonly #rate: number;
  readonly #burst: number;
  #tokens: number;
  #at: number;

  constructor(rate: number, burst: number, now: number) {
    this.#rate = rate;
    this.#burst = burst;
    this.#tokens = burst;
    this.#at = now;
  }

  /** Takes `n` tokens if there are that many. */
  take(now: number, n = 1): boolean {
    if (this.level(now) < n) return false;
    this.#tokens -= n;
    return true;
  }

  /** The tokens there are now. */
  level(now: number): number {
    this.#tokens = Math.min(this.#burst, this.#tokens + (Math.max(0, now - this.#at) * this.#rate) / 1000);
    this.#at = Math.max(this.#at, now);
    return this.#tokens;
  }

  /** When this bucket is full again, so that forgetting it changes nothing. */
  get fullAt(): number {
    return this.#at + ((this.#burst - this.#tokens) * 1000) / this.#rate;
  }
}

/** One bucket per key (a source IP), at most `maxEntries` of them. */
export class SourceLimiter {
  readonly #rate: number;
  readonly #burst: number;
  readonly #maxEntries: number;
  /** Least recently used first: every use moves a bucket to the end. */
  readonly #buckets = new Map<string, TokenBucket>();

  constructor(rate: number, burst: number, maxEntries: number) {
    this.#rate = rate;
    this.#burst = burst;
    this.#maxEntries = maxEntries;
  }

  /**
   * Takes a token from `key`'s bucket. A full table forgets its least recently used bucket, so
   * that spoofed sources cannot lock real ones out; it fills only while initiations are read
   * without a cookie, which stops under load (admission.ts).
   */
  allow(key: string, now: number): boolean {
    this.#prune(now);
    let bucket = this.#buckets.get(key);
    if (bucket) {
      this.#buckets.delete(key);
    } else {
      for (const oldest of this.#buckets.keys()) {
        if (this.#buckets.size < this.#maxEntries) break;
        this.#buckets.delete(oldest);
      }
      bucket = new TokenBucket(this.#rate, this.#burst, now);
    }
    this.#buckets.set(key, bucket);
    return bucket.take(now);
  }

  get size(): number {
    return this.#buckets.size;
  }

  /** Forgets full buckets: a source that has been quiet long enough is as good as new. */
  #prune(now: number): void {
    for (const [key, bucket] of this.#buckets) {
      if (bucket.fullAt > now) break;
      this.#buckets.delete(key);
    }
  }
}

type RateLimits = { messageRate: number; messageBurst: number; byteRate: number; byteBurst: number };

/** What one peer, or one source group, may deliver to us: messages and bytes per second (§8). */
export class PeerRate {
  readonly #messages: TokenBucket;
  readonly #bytes: TokenBucket;

  constructor(limits: RateLimits, now: number) {
    this.#messages = new TokenBucket(limits.messageRate, limits.messageBurst, now);
    this.#bytes = new TokenBucket(limits.byteRate, limits.byteBurst, now);
  }

  /** Whether `bytes` would pass now, taking nothing. */
  could(bytes: number, now: number): boolean {
    return this.#messages.level(now) >= 1 && this.#bytes.level(now) >= bytes;
  }

  /** Takes one message of `bytes`, or nothing if either bucket is short. */
  allow(bytes: number, now: number): boolean {
    if (!this.could(bytes, now)) return false;
    this.#messages.take(now);
    this.#bytes.take(now, bytes);
    return true;
  }
}

/** The delivery rates of a peer and of its source group together (fresh identities are free). */
export class DeliveryRates {
  readonly #peer: RateLimits;
  readonly #group: RateLimits;
  readonly #maxGroups: number;
  /** Least recently used first; a forgotten group starts again from a full burst. */
  readonly #groups = new Map<string, PeerRate>();

  constructor(limits: WireLimits) {
    this.#peer = { messageRate: limits.peerMessageRate, messageBurst: limits.peerMessageBurst, byteRate: limits.peerByteRate, byteBurst: limits.peerByteBurst };
    this.#group = { messageRate: limits.groupMessageRate, messageBurst: limits.groupMessageBurst, byteRate: limits.groupByteRate, byteBurst: limits.groupByteBurst };
    this.#maxGroups = limits.maxSources;
  }

  forPeer(now: number): PeerRate {
    return new PeerRate(this.#peer, now);
  }

  /** Takes one message of `bytes` from both `peer`'s and `group`'s buckets, or from neither. */
  allow(peer: PeerRate, group: string, bytes: number, now: number): boolean {
    let rate = this.#groups.get(group);
    if (rate) this.#groups.delete(group);
    else rate = new PeerRate(this.#group, now);
    this.#groups.set(group, rate);
    for (const oldest of this.#groups.keys()) {
      if (this.#groups.size <= this.#maxGroups) break;
      this.#groups.delete(oldest);
    }
    if (!peer.could(bytes, now) || !rate.could(bytes, now)) return false;
    return peer.allow(bytes, now) && rate.allow(bytes, now);
  }
}
