// How long a lookup waits for an answer before it calls the query "slow" and asks another node
// (libtorrent's short timeout). One estimator per node, shared by its lookups, so that a lookup
// starts with what the node learned before (its bootstrap, earlier lookups) instead of a guess.
//
// The estimate is TCP's retransmission timeout (RFC 6298 §2: SRTT + 4·RTTVAR, α = 1/8, β = 1/4)
// over the round-trip times of answers. A query that is only slow keeps waiting, and its answer
// still counts: calling it slow early costs one extra query, never a result.

/** The floor of the slow threshold (ms): below it, scheduling noise would look like loss. */
export const MIN_SLOW = 20;

export class RttEstimator {
  private _srtt = 0;
  private _rttvar = 0;
  private _samples = 0;

  get samples(): number {
    return this._samples;
  }

  /** An answer came `rtt` ms after its query. */
  sample(rtt: number): void {
    if (this._samples++ === 0) {
      // RFC 6298 §2.2: the first measurement.
      this._srtt = rtt;
      this._rttvar = rtt / 2;
      return;
    }
    // RFC 6298 §2.3, RTTVAR before SRTT.
    this._rttvar += (Math.abs(this._srtt - rtt) - this._rttvar) / 4;
    this._srtt += (rtt - this._srtt) / 8;
  }

  /** When an unanswered query becomes slow: SRTT + 4·RTTVAR within [MIN_SLOW, cap]; cap before any sample. */
  slowAfter(cap: number): number {
    if (!this._samples) return cap;
    return Math.min(cap, Math.max(MIN_SLOW, this._srtt + 4 * this._rttvar));
  }
}
