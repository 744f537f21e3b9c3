// Token buckets that keep a flood of initiations from reaching the Diffie-Hellman work: one per
// source IP (as WireGuard's ratelimiter) in a bounded table, and one for the whole endpoint.

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

  /** Takes `n` tokens (default one) if there are that many. */
  take(now: number, n = 1): boolean {
    this.#tokens = Math.min(this.#burst, this.#tokens + (Math.max(0, now - this.#at) * this.#rate) / 1000);
    this.#at = now;
    if (this.#tokens < n) return false;
    this.#tokens -= n;
    return true;
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

  /** Takes a token from `key`'s bucket; refuses new keys while the table is full. */
  allow(key: string, now: number): boolean {
    this.#prune(now);
    let bucket = this.#buckets.get(key);
    if (bucket) {
      this.#buckets.delete(key);
    } else {
      if (this.#buckets.size >= this.#maxEntries) return false;
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
