// Messages cut into fragments, and their reassembly on the receiving session (PROTOCOL §6).
// A peer can make the receiver buffer only so much: a few incomplete messages per session, a byte
// budget over all sessions, and a bounded, time-limited set of delivered ids for exactly-once.
import { DEDUPE_TIME, FRAGMENT_DATA, MAX_MESSAGE_BYTES, PARTIAL_TIMEOUT, type WireLimits } from "./constants.ts";
import type { MessageFrame } from "./frames.ts";
import { toHex } from "./_bytes.ts";

/** The fragments of one message: at most 1024 bytes of `d` each, at least one fragment. */
export function fragmentMessage(id: Uint8Array, sentAt: number, bytes: Uint8Array): MessageFrame[] {
  if (bytes.length > MAX_MESSAGE_BYTES) {
    throw new RangeError(`Cannot fragment ${bytes.length} bytes: at most ${MAX_MESSAGE_BYTES}`);
  }
  const count = Math.max(1, Math.ceil(bytes.length / FRAGMENT_DATA));
  const frames: MessageFrame[] = [];
  for (let index = 0; index < count; index++) {
    const data = bytes.subarray(index * FRAGMENT_DATA, (index + 1) * FRAGMENT_DATA);
    frames.push({ type: "message", id, index, count, sentAt, data });
  }
  return frames;
}

/** Usage shared by every session's inbox, checked against the global limits. */
export interface InboxUsage {
  partialBytes: number;
  dedupe: number;
}

/** What one arriving fragment did. */
export type Arrival =
  /** The last missing fragment: deliver it, then `remember` its id. */
  | { readonly kind: "complete"; readonly key: string; readonly data: Uint8Array; readonly sentAt: number }
  /** A fragment of a message already delivered: acknowledge it again. */
  | { readonly kind: "duplicate" }
  /** Buffered, or a fragment already buffered. */
  | { readonly kind: "partial" }
  /** Over a limit: dropped, the sender will retransmit. */
  | { readonly kind: "refused" }
  /** It contradicts the earlier fragments of its message (count or send time). */
  | { readonly kind: "invalid" };

interface Partial {
  readonly count: number;
  readonly sentAt: number;
  readonly parts: (Uint8Array | undefined)[];
  readonly expires: number;
  have: number;
  bytes: number;
}

type InboxLimits = Pick<WireLimits, "maxPartialPerSession" | "maxPartialBytes" | "maxDedupePerSession" | "maxDedupe">;

/** Reassembly and duplicate suppression for one session. */
export class Inbox {
  readonly #limits: InboxLimits;
  readonly #usage: InboxUsage;
  /** Both maps are in insertion order, which is expiry order: pruning looks at the head only. */
  readonly #partial = new Map<string, Partial>();
  readonly #delivered = new Map<string, number>();

  constructor(limits: InboxLimits, usage: InboxUsage) {
    this.#limits = limits;
    this.#usage = usage;
  }

  accept(frame: MessageFrame, now: number): Arrival {
    this.prune(now);
    const key = toHex(frame.id);
    if (this.#delivered.has(key)) return { kind: "duplicate" };
    let partial = this.#partial.get(key);
    if (!partial && frame.count === 1) {
      // Complete on arrival, so it takes no reassembly slot: incomplete messages never hold up
      // single-fragment ones. Without room to remember its id, the retransmission brings it again.
      if (!this.#roomToRemember()) return { kind: "refused" };
      return { kind: "complete", key, data: frame.data.slice(), sentAt: frame.sentAt };
    }
    if (!partial) {
      if (this.#partial.size >= this.#limits.maxPartialPerSession) return { kind: "refused" };
      partial = { count: frame.count, sentAt: frame.sentAt, parts: [], expires: now + PARTIAL_TIMEOUT, have: 0, bytes: 0 };
      this.#partial.set(key, partial);
    } else if (partial.count !== frame.count || partial.sentAt !== frame.sentAt) {
      return { kind: "invalid" };
    }
    if (partial.parts[frame.index] === undefined) {
      if (this.#usage.partialBytes + frame.data.length > this.#limits.maxPartialBytes) {
        if (partial.have === 0) this.#partial.delete(key);
        return { kind: "refused" };
      }
      partial.parts[frame.index] = frame.data.slice();
      partial.have++;
      partial.bytes += frame.data.length;
      this.#usage.partialBytes += frame.data.length;
    }
    if (partial.have < partial.count) return { kind: "partial" };
    // Complete; without room to remember the id, exactly-once cannot be kept: keep it buffered and
    // let a retransmission try again.
    if (!this.#roomToRemember()) return { kind: "refused" };
    this.#drop(key, partial);
    const data = new Uint8Array(partial.bytes);
    let at = 0;
    for (const part of partial.parts as Uint8Array[]) {
      data.set(part, at);
      at += part.length;
    }
    return { kind: "complete", key, data, sentAt: partial.sentAt };
  }

  /** Records a delivered message so its duplicates are acknowledged, not delivered again. */
  remember(key: string, now: number): void {
    if (this.#delivered.has(key)) return;
    this.#delivered.set(key, now + DEDUPE_TIME);
    this.#usage.dedupe++;
  }

  /** Forgets incomplete messages and delivered ids whose time is over. */
  prune(now: number): void {
    for (const [key, partial] of this.#partial) {
      if (partial.expires > now) break;
      this.#drop(key, partial);
    }
    for (const [key, expires] of this.#delivered) {
      if (expires > now) break;
      this.#delivered.delete(key);
      this.#usage.dedupe--;
    }
  }

  /** When `prune` next has something to do, if ever. */
  nextDeadline(): number | undefined {
    let next: number | undefined;
    for (const partial of this.#partial.values()) {
      next = partial.expires;
      break;
    }
    for (const expires of this.#delivered.values()) {
      next = next === undefined ? expires : Math.min(next, expires);
      break;
    }
    return next;
  }

  /** Releases everything (the session ended). */
  clear(): void {
    for (const [key, partial] of this.#partial) this.#drop(key, partial);
    this.#usage.dedupe -= this.#delivered.size;
    this.#delivered.clear();
  }

  get size(): { partial: number; delivered: number } {
    return { partial: this.#partial.size, delivered: this.#delivered.size };
  }

  #roomToRemember(): boolean {
    return this.#delivered.size < this.#limits.maxDedupePerSession && this.#usage.dedupe < this.#limits.maxDedupe;
  }

  #drop(key: string, partial: Partial): void {
    this.#partial.delete(key);
    this.#usage.partialBytes -= partial.bytes;
  }
}
