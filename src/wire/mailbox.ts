// Where delivered messages go: `onMessage` listeners and `messages()` iterators. A listener's
// bug is the application's: it is rethrown outside the packet path, never counted as a drop.
import type { IncomingMessage } from "./delivery.ts";

type Listener = (message: IncomingMessage) => void;

export class Mailbox {
  readonly #listeners = new Set<Listener>();
  readonly #iteratorEnds = new Set<() => void>();
  #closed = false;

  listen(listener: Listener): void {
    this.#listeners.add(listener);
  }

  deliver(message: IncomingMessage): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(message);
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }

  /** Every message delivered from now on, until `close()`. */
  messages(): AsyncIterableIterator<IncomingMessage> {
    const buffered: IncomingMessage[] = [];
    const waiting: ((r: IteratorResult<IncomingMessage>) => void)[] = [];
    const listener = (message: IncomingMessage) => {
      const next = waiting.shift();
      if (next) next({ value: message, done: false });
      else buffered.push(message);
    };
    const finish = () => {
      this.#listeners.delete(listener);
      this.#iteratorEnds.delete(finish);
      for (const next of waiting.splice(0)) next({ value: undefined, done: true });
    };
    this.#listeners.add(listener);
    this.#iteratorEnds.add(finish);
    if (this.#closed) finish();
    const iterator: AsyncIterableIterator<IncomingMessage> = {
      next: () => {
        const message = buffered.shift();
        if (message) return Promise.resolve({ value: message, done: false });
        if (!this.#listeners.has(listener)) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => waiting.push(resolve));
      },
      return: () => {
        finish();
        buffered.length = 0;
        return Promise.resolve({ value: undefined, done: true });
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  /** Ends every iterator (after what it buffered) and drops every listener. */
  close(): void {
    this.#closed = true;
    for (const finish of [...this.#iteratorEnds]) finish();
    this.#listeners.clear();
  }
}
