// Per-source token buckets: `burst` requests at once, then `rate` per second.
import { isLoopback } from "./bep42.ts";
import type { Address } from "./transport.ts";

export class RateLimiter {
  private readonly _burst: number;
  private readonly _rate: number;
  private readonly _max: number;
  private _buckets: Map<string, { tokens: number; at: number }> | null = null;

  constructor(burst: number, rate: number, maxSources: number) {
    this._burst = burst;
    this._rate = rate / 1000;
    this._max = maxSources;
  }

  allow(key: string, now: number): boolean {
    const buckets = (this._buckets ??= new Map());
    let b = buckets.get(key);
    if (!b) {
      if (buckets.size >= this._max) buckets.delete(buckets.keys().next().value!);
      b = { tokens: this._burst, at: now };
      buckets.set(key, b);
    } else {
      b.tokens = Math.min(this._burst, b.tokens + (now - b.at) * this._rate);
      b.at = now;
    }
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}

/**
 * Whom limits and quotas apply to: the IP address, since one host can use many ports. On loopback
 * every local process shares 127.0.0.1, so there the port tells them apart (unless
 * `restrictLocal`, for tests that play several hosts on 127.0.0.0/8).
 */
export function sourceKey(from: Address, restrictLocal = false): string {
  return !restrictLocal && isLoopback(from.host) ? `${from.host}:${from.port}` : from.host;
}
