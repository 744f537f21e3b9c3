// Where delivered messages go, and when they count as taken (docs/PROTOCOL.md §8): a message is
// acknowledged only once the application has it — an `onMessage` listener returned, or every
// `messages()` iterator yielded it (or, with `{ack: "next"}`, was asked for the one after it). In
// between it waits in a bounded queue; with no room, `offer` refuses it and the endpoint does not
// ack, so the sender retransmits or reports failure, memory stays flat and nothing acked is lost.
// A listener's bug is the application's: it is rethrown outside the packet path.
import type { WireLimits } from "./constants.ts";
import type { IncomingMessage } from "./delivery.ts";

type Listener = (message: IncomingMessage) => void;

/** What the endpoint learns about an offered message: taken (ack it) or abandoned (forget it). */
export interface Receipt {
  taken(): void;
  abandoned(): void;
}

export interface MessagesOptions {
  /**
   * When a message counts as taken: when the iterator yields it (default), or when the consumer
   * asks for the next one or ends the iteration — after a `for await` body has handled it.
   */
  ack?: "yield" | "next";
}

interface Entry {
  readonly message: IncomingMessage;
  readonly bytes: number;
  readonly peer: string;
  readonly receipt: Receipt;
  /** Iterators that have yet to take it. */
  waiting: number;
  /** Some consumer had it: once no iterator waits, it is taken (else abandoned). */
  had: boolean;
}

interface Consumer {
  readonly buffer: Entry[];
  readonly onNext: boolean;
  /** With `ack: "next"`: the entry yielded last, taken when the next is asked for. */
  current: Entry | undefined;
  wake: ((r: IteratorResult<IncomingMessage>) => void) | undefined;
  done: boolean;
}

type QueueLimits = Pick<WireLimits, "maxQueued" | "maxQueuedBytes" | "maxQueuedPerPeer" | "maxQueuedBytesPerPeer">;

export class Mailbox {
  readonly #limits: QueueLimits;
  readonly #listeners = new Set<Listener>();
  readonly #consumers = new Set<Consumer>();
  /** Messages that arrived while nobody listened: the next iterator gets them. */
  readonly #unclaimed: Entry[] = [];
  readonly #perPeer = new Map<string, { count: number; bytes: number }>();
  #count = 0;
  #bytes = 0;
  #closed = false;

  constructor(limits: QueueLimits) {
    this.#limits = limits;
  }

  get queued(): { count: number; bytes: number } {
    return { count: this.#count, bytes: this.#bytes };
  }

  listen(listener: Listener): void {
    this.#listeners.add(listener);
  }

  /** True if a message of `bytes` from `peer` would fit the queue now. */
  hasRoom(peer: string, bytes: number): boolean {
    const mine = this.#perPeer.get(peer);
    return !this.#closed && this.#count < this.#limits.maxQueued && this.#bytes + bytes <= this.#limits.maxQueuedBytes &&
      (mine?.count ?? 0) < this.#limits.maxQueuedPerPeer && (mine?.bytes ?? 0) + bytes <= this.#limits.maxQueuedBytesPerPeer;
  }

  /**
   * Hands a message to the application. False if it does not fit (the caller does not ack it);
   * otherwise `receipt` hears, now or later, whether it was taken or abandoned.
   */
  offer(message: IncomingMessage, bytes: number, peer: string, receipt: Receipt): boolean {
    if (!this.hasRoom(peer, bytes)) return false;
    for (const listener of [...this.#listeners]) {
      try {
        listener(message);
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
    const entry: Entry = { message, bytes, peer, receipt, waiting: this.#consumers.size, had: this.#listeners.size > 0 };
    if (!entry.waiting && entry.had) {
      receipt.taken(); // listeners only: they returned, so it is taken
      return true;
    }
    if (!entry.waiting) {
      this.#unclaimed.push(entry); // nobody listens: it waits for the first iterator
      entry.waiting = 1;
    }
    this.#account(entry, 1);
    for (const consumer of this.#consumers) this.#push(consumer, entry);
    return true;
  }

  /** Every message from now on (and those that waited for a consumer), until `close()`. */
  messages(options: MessagesOptions = {}): AsyncIterableIterator<IncomingMessage> {
    const consumer: Consumer = {
      buffer: this.#unclaimed.splice(0),
      onNext: options.ack === "next",
      current: undefined,
      wake: undefined,
      done: false,
    };
    this.#consumers.add(consumer);
    if (this.#closed) this.#end(consumer);
    const iterator: AsyncIterableIterator<IncomingMessage> = {
      next: () => {
        this.#settle(consumer);
        const entry = consumer.buffer.shift();
        if (entry) return Promise.resolve(this.#yield(consumer, entry));
        if (consumer.done) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => (consumer.wake = resolve));
      },
      return: () => {
        this.#settle(consumer);
        this.#end(consumer);
        for (const entry of consumer.buffer.splice(0)) this.#release(entry, false);
        return Promise.resolve({ value: undefined, done: true });
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  /** Ends every iterator (after what it buffered) and drops every listener. */
  close(): void {
    this.#closed = true;
    for (const consumer of [...this.#consumers]) this.#end(consumer);
    this.#listeners.clear();
    for (const entry of this.#unclaimed.splice(0)) this.#release(entry, false);
  }

  #push(consumer: Consumer, entry: Entry): void {
    const wake = consumer.wake;
    if (!wake) return void consumer.buffer.push(entry);
    consumer.wake = undefined;
    wake(this.#yield(consumer, entry));
  }

  #yield(consumer: Consumer, entry: Entry): IteratorResult<IncomingMessage> {
    entry.had = true;
    if (consumer.onNext) consumer.current = entry;
    else this.#release(entry, true);
    return { value: entry.message, done: false };
  }

  #settle(consumer: Consumer): void {
    const current = consumer.current;
    consumer.current = undefined;
    if (current) this.#release(current, true);
  }

  /** One consumer is done with `entry`: it took it, or let it go unread. */
  #release(entry: Entry, took: boolean): void {
    if (took) entry.had = true;
    if (--entry.waiting > 0) return;
    this.#account(entry, -1);
    if (entry.had) entry.receipt.taken();
    else entry.receipt.abandoned();
  }

  #end(consumer: Consumer): void {
    consumer.done = true;
    this.#consumers.delete(consumer);
    const wake = consumer.wake;
    consumer.wake = undefined;
    wake?.({ value: undefined, done: true });
  }

  #account(entry: Entry, sign: 1 | -1): void {
    this.#count += sign;
    this.#bytes += sign * entry.bytes;
    const mine = this.#perPeer.get(entry.peer) ?? { count: 0, bytes: 0 };
    mine.count += sign;
    mine.bytes += sign * entry.bytes;
    if (mine.count > 0) this.#perPeer.set(entry.peer, mine);
    else this.#perPeer.delete(entry.peer);
  }
}
