// The real internet, as far as a DHT lookup can tell, for the simulator: each pair of hosts has
// its own one-way latency (fixed for the pair, as a path is; uniform over [min, max] across
// pairs), some datagrams are lost, and part of every routing table points at nodes that left
// (on Mainline about 30 %: clients come and go, and tables keep them until they fail twice).
import { createSimnet, type Simnet } from "./testnet.ts";
import type { DhtOptions } from "./node.ts";

export interface InternetOptions {
  seed?: number;
  /** One-way latency range across pairs of hosts (ms). */
  latency?: [number, number];
  /** Probability that a datagram is lost. */
  loss?: number;
  /** Fraction of routing-table contacts that are gone. */
  dead?: number;
  node?: Omit<DhtOptions, "transport" | "bootstrap" | "clock" | "id" | "state">;
}

/** Defaults of the model: 10–150 ms one way, 2 % loss, 30 % dead contacts. */
export const INTERNET = { latency: [10, 150] as [number, number], loss: 0.02, dead: 0.3 };

/** One-way delay for a pair of hosts: a hash of the pair (either order) mapped into [min, max]. */
export function pairLatency(seed: number, [min, max]: [number, number]): (from: string, to: string) => number {
  return (from, to) => {
    const [a, b] = from < to ? [from, to] : [to, from];
    // FNV-1a over "a|b" with the seed mixed in, then a final avalanche (murmur3's fmix32).
    let h = (0x811c9dc5 ^ seed) >>> 0;
    for (const s of [a, "|", b]) {
      for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
    }
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    return min + ((h >>> 0) / 4294967296) * (max - min);
  };
}

/** n live nodes on the simulated internet (virtual time), tables converged, some contacts dead. */
export function createInternetSim(n: number, opts: InternetOptions = {}): Simnet {
  const seed = opts.seed ?? 1;
  return createSimnet(n, {
    seed,
    delay: pairLatency(seed, opts.latency ?? INTERNET.latency),
    loss: opts.loss ?? INTERNET.loss,
    dead: opts.dead ?? INTERNET.dead,
    ...(opts.node ? { node: opts.node } : {}),
  });
}
