// Messages cut into fragments, and their reassembly on the receiving session (PROTOCOL §6).
// A peer can make the receiver buffer only so much: a few incomplete messages per session, a byte
// budget over all sessions of which one source group gets a share, and a bounded, time-limited set
// of delivered ids for exactly-once. A delivered message is first held (the application has not
// taken it: no ack, copies ignored), then taken (acked, copies acked again) — docs/PROTOCOL.md §8.
import { DEDUPE_TIME, DEDUPE_TIME_MIN, FRAGMENT_DATA, MAX_MESSAGE_BYTES, PARTIAL_TIMEOUT, type WireLimits } from "./constants.ts";
import type { MessageFrame } from "./frames.ts";
import { idKey } from "./_bytes.ts";

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
  /** Bytes of incomplete messages per source group. */
  readonly bySource: Map<string, number>;
}

export function newInboxUsage(): InboxUsage {
  return { partialBytes: 0, dedupe: 0, bySource: new Map() };
}

/** What one arriving fragment did. */
export type Arrival =
  /** The last missing fragment: deliver it, and `hold` its id until the application takes it. */
  | { readonly kind: "complete"; readonly key: string; readonly data: Uint8Array; readonly sentAt: number }
  /** A fragment of a message already delivered: acknowledge it again. */
  | { readonly kind: "duplicate" }
  /** A fragment of a message the application has not taken yet: no ack before it does. */
  | { readonly kind: "held" }
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

type InboxLimits = Pick<WireLimits, "maxPartialPerSession" | "maxPartialBytes" | "maxPartialBytesPerSource" | "maxDedupePerSession" | "maxDedupe">;

/** Reassembly and duplicate suppression for one session. */
export class Inbox {
  readonly #limits: InboxLimits;
  readonly #usage: InboxUsage;
  /** Both maps are in insertion order, which is expiry order: pruning looks at the head only. */
  readonly #partial = new Map<string, Partial>();
  readonly #delivered = new Map<string, number>();
  /** `#delivered` holds expiries minus this (the first take): small integers, not heap numbers. */
  #epoch = 0;
  /** No entry of either map expires before this: `prune` skips its work until then. */
  #pruneAt = Infinity;
  /** Delivered, not yet taken by the application. */
  readonly #held = new Set<string>();
  /** The source group whose share of the reassembly budget this session's messages use. */
  readonly source: string;

  constructor(limits: InboxLimits, usage: InboxUsage, source: string) {
    this.#limits = limits;
    this.#usage = usage;
    this.source = source;
  }

  accept(frame: MessageFrame, now: number): Arrival {
    this.prune(now);
    const key = idKey(frame.id);
    if (this.#delivered.has(key)) return { kind: "duplicate" };
    if (this.#held.has(key)) return { kind: "held" };
    let partial = this.#partial.get(key);
    if (!partial && frame.count === 1) {
      // Complete on arrival, so it takes no reassembly slot: incomplete messages never hold up
      // single-fragment ones. Without room to remember its id, the retransmission brings it again.
      if (!this.#roomToRemember(now)) return { kind: "refused" };
      return { kind: "complete", key, data: frame.data.slice(), sentAt: frame.sentAt };
    }
    if (!partial) {
      if (this.#partial.size >= this.#limits.maxPartialPerSession) return { kind: "refused" };
      partial = { count: frame.count, sentAt: frame.sentAt, parts: [], expires: now + PARTIAL_TIMEOUT, have: 0, bytes: 0 };
      this.#partial.set(key, partial);
      this.#pruneAt = Math.min(this.#pruneAt, partial.expires);
    } else if (partial.count !== frame.count || partial.sentAt !== frame.sentAt) {
      return { kind: "invalid" };
    }
    if (partial.parts[frame.index] === undefined) {
      const ours = this.#usage.bySource.get(this.source) ?? 0;
      if (this.#usage.partialBytes + frame.data.length > this.#limits.maxPartialBytes ||
        ours + frame.data.length > this.#limits.maxPartialBytesPerSource) {
        if (partial.have === 0) this.#partial.delete(key);
        return { kind: "refused" };
      }
      partial.parts[frame.index] = frame.data.slice();
      partial.have++;
      partial.bytes += frame.data.length;
      this.#usage.partialBytes += frame.data.length;
      this.#usage.bySource.set(this.source, ours + frame.data.length);
    }
    if (partial.have < partial.count) return { kind: "partial" };
    // Complete; without room to remember the id, exactly-once cannot be kept: keep it buffered and
    // let a retransmission try again.
    if (!this.#roomToRemember(now)) return { kind: "refused" };
    this.#drop(key, partial);
    const data = new Uint8Array(partial.bytes);
    let at = 0;
    for (const part of partial.parts as Uint8Array[]) {
      data.set(part, at);
      at += part.length;
    }
    return { kind: "complete", key, data, sentAt: partial.sentAt };
  }

  /** A complete message went to the application's queue: its copies are ignored until it is taken. */
  hold(key: string): void {
    if (this.#held.has(key) || this.#delivered.has(key)) return;
    this.#held.add(key);
    this.#usage.dedupe++;
  }

  /** The application took it: from now on its copies are acknowledged, not delivered again. */
  take(key: string, now: number): void {
    if (!this.#held.delete(key)) return;
    if (!this.#delivered.size) this.#epoch = now;
    this.#delivered.set(key, now + DEDUPE_TIME - this.#epoch);
    this.#pruneAt = Math.min(this.#pruneAt, now + DEDUPE_TIME);
  }

  /** It was never taken (the queue refused or dropped it): a retransmission may deliver it again. */
  release(key: string): void {
    if (this.#held.delete(key)) this.#usage.dedupe--;
  }

  /** Forgets incomplete messages and delivered ids whose time is over. */
  prune(now: number): void {
    if (now < this.#pruneAt) return;
    for (const [key, partial] of this.#partial) {
      if (partial.expires > now) break;
      this.#drop(key, partial);
    }
    for (const [key, expires] of this.#delivered) {
      if (expires + this.#epoch > now) break;
      this.#delivered.delete(key);
      this.#usage.dedupe--;
    }
    this.#pruneAt = this.nextDeadline() ?? Infinity;
  }

  /** When `prune` next has something to do, if ever. */
  nextDeadline(): number | undefined {
    let next: number | undefined;
    for (const partial of this.#partial.values()) {
      next = partial.expires;
      break;
    }
    for (const expires of this.#delivered.values()) {
      next = next === undefined ? expires + this.#epoch : Math.min(next, expires + this.#epoch);
      break;
    }
    return next;
  }

  /** Releases everything (the session ended). */
  clear(): void {
    for (const [key, partial] of this.#partial) this.#drop(key, partial);
    this.#usage.dedupe -= this.#delivered.size + this.#held.size;
    this.#delivered.clear();
    this.#held.clear();
  }

  get size(): { partial: number; delivered: number } {
    return { partial: this.#partial.size, delivered: this.#delivered.size };
  }

  /**
   * Room for one more id. When there is none, this session's ids taken DEDUPE_TIME_MIN ago or
   * more are forgotten first (oldest first): their senders stopped retransmitting long before, so
   * a stream the application keeps up with runs at rate × DEDUPE_TIME_MIN ids, not × DEDUPE_TIME.
   */
  #roomToRemember(now: number): boolean {
    if (this.#hasRoom()) return true;
    const early = DEDUPE_TIME - DEDUPE_TIME_MIN; // expiries are taken + DEDUPE_TIME
    for (const [key, expires] of this.#delivered) {
      if (expires + this.#epoch - early > now || this.#hasRoom()) break;
      this.#delivered.delete(key);
      this.#usage.dedupe--;
    }
    return this.#hasRoom();
  }

  #hasRoom(): boolean {
    return this.#delivered.size + this.#held.size < this.#limits.maxDedupePerSession && this.#usage.dedupe < this.#limits.maxDedupe;
  }

  #drop(key: string, partial: Partial): void {
    this.#partial.delete(key);
    this.#usage.partialBytes -= partial.bytes;
    const left = (this.#usage.bySource.get(this.source) ?? 0) - partial.bytes;
    if (left > 0) this.#usage.bySource.set(this.source, left);
    else this.#usage.bySource.delete(this.source);
  }
}
