// `chat` processes inside the NAT lab: start one in a namespace, keep every NDJSON event it
// prints, wait for the one a test needs (including one printed before anyone asked).
import type { ChildProcess } from "node:child_process";
import { chatCommand } from "../_cli.ts";
import type { NatLab, Netns } from "./lab.ts";

export type Event = Record<string, unknown>;

export class ChatProc {
  readonly events: Event[] = [];
  stderr = "";
  code: number | null | undefined = undefined;
  readonly exited: Promise<number | null>;
  private _buf = "";
  private readonly _waiters = new Set<() => void>();
  readonly child: ChildProcess;
  readonly label: string;

  constructor(child: ChildProcess, label: string) {
    this.child = child;
    this.label = label;
    child.stdout!.setEncoding("utf8").on("data", (d: string) => {
      this._buf += d;
      const lines = this._buf.split("\n");
      this._buf = lines.pop()!;
      for (const line of lines) {
        if (line.trim() === "") continue;
        try {
          this.events.push(JSON.parse(line) as Event);
        } catch {
          this.events.push({ type: "not-json", line });
        }
      }
      for (const w of this._waiters) w();
    });
    child.stderr!.setEncoding("utf8").on("data", (d: string) => (this.stderr += d));
    this.exited = new Promise((resolve) => child.on("close", (code) => {
      this.code = code;
      for (const w of this._waiters) w();
      resolve(code);
    }));
  }

  /** The `nth` event (counting from the start) with `pred`, or a rejection naming what was seen. */
  waitFor(pred: (e: Event) => boolean, timeoutMs: number, what = "an event", nth = 1): Promise<Event> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const hit = this.events.filter(pred)[nth - 1];
        if (hit) return done(() => resolve(hit));
        if (this.code !== undefined) return done(() => reject(this._error(`exited (${this.code}) before ${what}`)));
      };
      const timer = setTimeout(() => done(() => reject(this._error(`no ${what} within ${timeoutMs} ms`))), timeoutMs);
      const done = (then: () => void) => {
        clearTimeout(timer);
        this._waiters.delete(check);
        then();
      };
      this._waiters.add(check);
      check();
    });
  }

  /** Writes one line on its stdin (a message, for `chat send` without TEXT). */
  writeLine(text: string): void {
    this.child.stdin!.write(text + "\n");
  }

  /** Events of `type`, in order. */
  ofType(type: string): Event[] {
    return this.events.filter((e) => e["type"] === type);
  }

  private _error(message: string): Error {
    const tail = this.stderr.trim().split("\n").slice(-5).join(" | ");
    return new Error(`${this.label}: ${message}; events ${JSON.stringify(this.events)}; stderr: ${tail}`);
  }
}

/** Starts `chat ARGS` in `where` on this runtime (compiled on Node, from source on Deno). */
export function startChatIn(lab: NatLab, where: Netns, args: string[], env: Record<string, string>, label = `${where.name}: chat ${args[0]}`): ChatProc {
  const [cmd, pre] = chatCommand();
  const child = lab.spawn(where, cmd, [...pre, ...args], { env: { ...process.env, NO_COLOR: "1", ...env } });
  return new ChatProc(child, label);
}

/** `echo TEXT | chat send KEY` in `where`: resolves with its reports and exit code (killed at timeoutMs). */
export function sendOnce(lab: NatLab, where: Netns, key: string, identity: string, text: string, env: Record<string, string>, timeoutMs: number): Promise<ChatProc> {
  return sendInTurn(lab, where, key, identity, [text], env, timeoutMs);
}

const isReport = (e: Event) => e["type"] === "delivered" || e["type"] === "failed";

/**
 * `chat send KEY` in `where` with its stdin open: writes each text once the previous one has been
 * reported (one session, its path settled by then), then closes stdin. timeoutMs is per message.
 */
export async function sendInTurn(lab: NatLab, where: Netns, key: string, identity: string, texts: string[], env: Record<string, string>, timeoutMs: number): Promise<ChatProc> {
  const p = startChatIn(lab, where, ["send", key, "--identity", identity], env, `${where.name}: chat send`);
  const timer = setTimeout(() => lab.kill(p.child), timeoutMs * texts.length);
  try {
    for (const [i, text] of texts.entries()) {
      p.writeLine(text);
      // No report in time (a key not found prints none until stdin ends): stop writing.
      if (i < texts.length - 1) await p.waitFor(isReport, timeoutMs, "a report", i + 1);
    }
  } catch {
    // Killed or exited early: its events tell the test what happened.
  }
  p.child.stdin!.end();
  await p.exited;
  clearTimeout(timer);
  return p;
}
