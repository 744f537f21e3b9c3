// Local indices (as wireguard-go's indextable.go): every response and data packet names one of our
// random 32-bit indices, and the index names what the packet is for — a session, or one attempt of
// a handshake. Both kinds share one table so that an index is never in use twice.
import type { Initiation } from "./handshake.ts";
import type { Handshake } from "./peer.ts";
import type { Session } from "./session.ts";

/** What a local index names: a session, or one attempt of a handshake. */
export type Slot = { readonly session: Session } | { readonly handshake: Handshake; readonly initiation: Initiation };

export class IndexTable {
  readonly #slots = new Map<number, Slot>();
  readonly #random: (length: number) => Uint8Array;

  constructor(random: (length: number) => Uint8Array) {
    this.#random = random;
  }

  get(index: number): Slot | undefined {
    return this.#slots.get(index);
  }

  has(index: number): boolean {
    return this.#slots.has(index);
  }

  set(index: number, slot: Slot): void {
    this.#slots.set(index, slot);
  }

  delete(index: number): void {
    this.#slots.delete(index);
  }

  values(): IterableIterator<Slot> {
    return this.#slots.values();
  }

  /** A random local index not in use. */
  newIndex(): number {
    for (;;) {
      const b = this.#random(4);
      const index = ((b[0] as number) | ((b[1] as number) << 8) | ((b[2] as number) << 16) | ((b[3] as number) << 24)) >>> 0;
      if (!this.#slots.has(index)) return index;
    }
  }
}
