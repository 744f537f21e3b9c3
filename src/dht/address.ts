// Our own address as the network sees it, from the BEP 42 `ip` field of replies (what
// `chat announce` publishes by default). One host with many sockets must not steer it: votes count
// once per voter /24 (IPv4, as libtorrent's ip_voter groups them), an address needs a minimum of
// such voters and a clear majority, and an address we are bound to on a public interface wins
// over any vote.
import { isLocal, isLoopback, subnet24 } from "./bep42.ts";
import { type Address, addressKey } from "./transport.ts";

/** How many voter groups are remembered (the most recent). */
const WINDOW = 64;
/** Distinct voter groups an address needs before it is believed. */
export const MIN_VOTERS = 3;

export class AddressVotes {
  private readonly _votes = new Map<string, Address>();
  private readonly _restrictLocal: boolean;

  /** `restrictLocal`: group loopback and local-network voters by /24 too (tests playing hosts on 127/8). */
  constructor(restrictLocal = false) {
    this._restrictLocal = restrictLocal;
  }

  /**
   * `voter` (the host that replied) says it sees us at `seen`; a group's latest vote replaces its
   * earlier one. False when that changed nothing (the common case: the same voter, the same
   * address), so the caller can skip recounting on every reply.
   */
  vote(voter: Address, seen: Address): boolean {
    const group = this._group(voter);
    const last = this._votes.get(group);
    this._votes.delete(group);
    this._votes.set(group, seen);
    if (last) return last.host !== seen.host || last.port !== seen.port;
    if (this._votes.size > WINDOW) this._votes.delete(this._votes.keys().next().value!);
    return true;
  }

  /** The address at least MIN_VOTERS groups report, more than half of all and twice the runner-up; else null. */
  winner(): Address | null {
    // One pass, no sort: it runs whenever a reply changes a vote.
    const count = new Map<string, number>();
    let best: Address | null = null, bestKey = "", top = 0, second = 0;
    for (const addr of this._votes.values()) {
      const key = addressKey(addr);
      const n = (count.get(key) ?? 0) + 1;
      count.set(key, n);
      if (key === bestKey) top = n;
      else if (n > top) {
        second = top;
        top = n;
        best = addr;
        bestKey = key;
      } else if (n > second) second = n;
    }
    if (!best || top < MIN_VOTERS || top * 2 <= this._votes.size || top < 2 * second) return null;
    return best;
  }

  /** Votes per address (for `chat node --stats` and NAT detection). */
  tally(): { address: Address; voters: number }[] {
    const tally = new Map<string, { address: Address; voters: number }>();
    for (const addr of this._votes.values()) {
      const t = tally.get(addressKey(addr)) ?? { address: addr, voters: 0 };
      t.voters++;
      tally.set(addressKey(addr), t);
    }
    return [...tally.values()].sort((a, b) => b.voters - a.voters);
  }

  /** A voter group: its /24 on the Internet; on loopback one per socket, on a LAN one per host. */
  private _group(voter: Address): string {
    if (!this._restrictLocal && isLocal(voter.host)) return isLoopback(voter.host) ? addressKey(voter) : voter.host;
    return subnet24(voter.host);
  }
}

/** Whether a bound address is a public one (then it is our address, whatever the votes say). */
export function isPublicBound(a: Address): boolean {
  return a.host !== "0.0.0.0" && a.host !== "::" && !isLocal(a.host) && a.host.includes(".");
}
