// The terminal view of `chat talk`: a line editor at the bottom (node:readline), and above it the
// conversation, one line per message with its time and a delivery mark (· sending, ✓ delivered,
// ✗ failed). Lines are printed above the prompt and the prompt is redrawn, so what the user is
// typing stays intact while messages arrive.
import { createInterface } from "node:readline";

/** What talk shows; the terminal view and the NDJSON stream both implement it. */
export interface TalkView {
  /** Lines the user sends; ends when they leave (Ctrl-D, end of input). */
  lines(): AsyncIterable<string>;
  /** Any event; the terminal view renders it for a person. */
  event(e: Record<string, unknown>): void;
  /** An outgoing line, shown before it is delivered; returns a handle for `settle`. */
  outgoing(text: string): unknown;
  /** The delivery (or failure) of an outgoing line. */
  settle(handle: unknown, e: Record<string, unknown>): void;
  /** Resolves when the user asks to leave at once (Ctrl-C). */
  readonly interrupted: Promise<string>;
  close(): void;
}

const PROMPT = "> ";
const MARK_COLUMN = 6; // after "HH:MM "
const ESC = "\x1b[";

interface Outgoing {
  text: string;
  /** Screen rows between this line's first row and the prompt row. */
  rowsAbove: number;
}

export class TerminalView implements TalkView {
  readonly interrupted: Promise<string>;
  readonly #peerKey: string;
  readonly #peerName: string;
  readonly #out = process.stdout;
  readonly #rl = createInterface({ input: process.stdin, output: process.stdout, prompt: PROMPT, terminal: true });
  readonly #shown = new Set<Outgoing>();
  #announced = false;

  constructor(peerKey: string, peerName: string) {
    this.#peerKey = peerKey;
    this.#peerName = peerName;
    // Ctrl-C leaves at once; Ctrl-D (end of input) leaves once what was typed is delivered.
    this.interrupted = new Promise((resolve) => this.#rl.on("SIGINT", () => resolve("interrupted")));
  }

  async *lines(): AsyncIterable<string> {
    this.#rl.prompt();
    for await (const line of this.#rl) {
      // readline echoed "> text" and moved down: replace that echo with the conversation line.
      this.#out.write(`${ESC}${this.#rows(PROMPT + line)}A\r${ESC}0J`);
      if (line.trim() !== "") yield line;
      else this.#rl.prompt();
    }
  }

  event(e: Record<string, unknown>): void {
    switch (e["type"]) {
      case "message": {
        const name = (e["name"] as string | undefined) ?? `${String(e["from"]).slice(0, 8)}…`;
        const who = e["from"] === this.#peerKey ? this.#peerName : `${name} (not in this conversation)`;
        return void this.#print(`${time(e["receivedAt"] as number)}   ${who}: ${e["text"]}`);
      }
      case "listening":
        return void this.#print(`— you are ${e["publicKey"]}; talking to ${this.#peerName}. Enter sends, Ctrl-D or Ctrl-C leaves.`);
      case "announced":
        if (this.#announced) return;
        this.#announced = true;
        return void this.#print(`— you are online: your record is in the DHT (stored by ${e["stored"]} nodes)`);
      case "found":
        return void this.#print(`— ${this.#peerName} is online`);
      case "not-found":
        return void this.#print(`— ${this.#peerName} is not online (no record in the DHT); messages will be tried when you send them`);
      case "warning":
        return void this.#print(`! ${e["message"]}`);
      case "closed":
        return void this.#print(`— left (${e["reason"]})`, false);
    }
  }

  outgoing(text: string): Outgoing {
    const rows = this.#print(`${time(Date.now())} · you: ${text}`);
    const line: Outgoing = { text, rowsAbove: rows };
    this.#shown.add(line);
    return line;
  }

  settle(handle: unknown, e: Record<string, unknown>): void {
    const line = handle as Outgoing;
    this.#shown.delete(line);
    const ok = e["type"] === "delivered";
    const mark = ok ? "✓" : "✗";
    if (line.rowsAbove < (this.#out.rows ?? 24) - 1) {
      // Save the cursor, put the mark on the line where it was shown, come back.
      this.#out.write(`\x1b7${ESC}${line.rowsAbove}A\r${ESC}${MARK_COLUMN}C${mark}\x1b8`);
    } else if (ok) {
      this.#print(`${time(Date.now())} ✓ delivered: "${line.text}"`);
    }
    if (!ok) {
      const why = e["reason"] === "NOT_FOUND" ? `${this.#peerName} is not online` : String(e["message"]);
      this.#print(`${time(Date.now())} ✗ not delivered: "${line.text}": ${why}`);
    }
  }

  close(): void {
    this.#rl.close();
  }

  /** Prints a line above the prompt, then redraws the prompt with what is being typed. */
  #print(text: string, prompt = true): number {
    const rows = this.#rows(text);
    this.#out.write(`\r${ESC}0J${text}\n`);
    for (const line of this.#shown) line.rowsAbove += rows;
    if (prompt) this.#rl.prompt(true);
    return rows;
  }

  #rows(text: string): number {
    const columns = this.#out.columns || 80;
    return Math.max(1, Math.ceil([...text].length / columns));
  }
}

function time(ms: number): string {
  const d = new Date(ms);
  return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
}
