// The sliding replay window of data counters (PROTOCOL §6), the bitmap ring of RFC 6479 §2 as
// WireGuard uses it: the ring holds RING_BLOCKS words; moving forward clears whole words instead
// of shifting bits, so accepting a counter is O(1) however far it jumps.

const BLOCK_BITS = 32; // Uint32Array words: JS bit operators are 32-bit
const RING_BLOCKS = 64; // a power of two
/** Counters accepted behind the highest one seen: (64 − 1) · 32 = 2016 ≥ 1024 (PROTOCOL §6). */
export const REPLAY_WINDOW = (RING_BLOCKS - 1) * BLOCK_BITS;

export class ReplayWindow {
  #last = 0;
  readonly #ring = new Uint32Array(RING_BLOCKS);

  /** True if `counter` could still be accepted. Changes nothing: a cheap test before decrypting. */
  check(counter: number): boolean {
    if (counter > this.#last) return true;
    if (this.#last - counter > REPLAY_WINDOW) return false;
    return (this.#ring[block(counter)]! & bit(counter)) === 0;
  }

  /**
   * Accepts `counter` once and records it. Call only after the packet authenticated, so a forged
   * counter can never move the window (RFC 6479 §2, WireGuard §5.4.6).
   */
  update(counter: number): boolean {
    if (counter > this.#last) {
      const current = Math.floor(this.#last / BLOCK_BITS);
      const diff = Math.min(Math.floor(counter / BLOCK_BITS) - current, RING_BLOCKS);
      for (let i = 1; i <= diff; i++) this.#ring[(current + i) % RING_BLOCKS] = 0;
      this.#last = counter;
    } else if (this.#last - counter > REPLAY_WINDOW) {
      return false;
    }
    const b = block(counter);
    const word = this.#ring[b]!;
    if ((word & bit(counter)) !== 0) return false;
    this.#ring[b] = word | bit(counter);
    return true;
  }
}

function block(counter: number): number {
  return Math.floor(counter / BLOCK_BITS) % RING_BLOCKS;
}

function bit(counter: number): number {
  return 1 << counter % BLOCK_BITS;
}
