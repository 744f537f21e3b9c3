// Runs the chat CLI as a separate process on the runtime that runs the tests.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const isDeno = "Deno" in globalThis;
const DENO = "node_modules/.bin/deno";
/** Every child gets a state directory of its own (contacts), never the user's. */
export const stateDir = mkdtempSync(join(tmpdir(), "chat-state-"));
process.on("exit", () => rmSync(stateDir, { recursive: true, force: true }));

/** The argv that starts `chat` on the current runtime (compiled on Node, from source on Deno). */
export function chatCommand(runtime: "node" | "deno" = isDeno ? "deno" : "node"): [string, string[]] {
  return runtime === "deno" ? [DENO, ["run", "-A", "src/main.ts"]] : ["node", ["bin/chat.mjs"]];
}

export interface Ran { code: number | null; stdout: string; stderr: string }

/** Runs `chat ARGS` to completion (killed after timeoutMs), feeding `stdin` if given. */
export function runChat(args: string[], opts: { stdin?: string; env?: Record<string, string>; timeoutMs?: number; runtime?: "node" | "deno"; detached?: boolean } = {}): Promise<Ran> {
  const child = startChat(args, opts);
  child.stdin!.end(opts.stdin ?? "");
  return finished(child, opts.timeoutMs ?? 20_000);
}

/** `detached` starts it in a session of its own: no controlling terminal, so no /dev/tty to prompt on. */
export function startChat(args: string[], opts: { env?: Record<string, string>; runtime?: "node" | "deno"; detached?: boolean } = {}): ChildProcess {
  const [cmd, pre] = chatCommand(opts.runtime);
  return spawn(cmd, [...pre, ...args], {
    env: { ...process.env, NO_COLOR: "1", CHAT_STATE_DIR: stateDir, ...opts.env }, stdio: ["pipe", "pipe", "pipe"], detached: opts.detached ?? false,
  });
}

export function finished(child: ChildProcess, timeoutMs: number): Promise<Ran> {
  let stdout = "", stderr = "";
  child.stdout!.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The JSON error line a failing command printed on stderr. */
export function errorOf(r: Ran): { code: string; message: string } {
  return JSON.parse(r.stderr.split("\n")[0]!).error;
}

/** Resolves with the first stdout JSON line of `child` that matches `pred`. */
export function jsonLine(child: ChildProcess, pred: (j: Record<string, unknown>) => boolean, timeoutMs = 30_000): Promise<Record<string, unknown>> {
  return textLine(child, (line) => {
    if (!line.startsWith("{")) return false;
    return pred(JSON.parse(line));
  }, timeoutMs).then((line) => JSON.parse(line));
}

/** Resolves with the first stdout line of `child` that matches `pred`. */
export function textLine(child: ChildProcess, pred: (line: string) => boolean, timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = "";
    const timer = setTimeout(() => {
      child.stdout!.off("data", onData);
      reject(new Error(`timed out waiting for a line; got: ${buf}`));
    }, timeoutMs);
    const onData = (d: Buffer) => {
      buf += d.toString("utf8");
      const lines = buf.split("\n");
      buf = lines.pop()!;
      for (const line of lines) {
        if (pred(line)) {
          clearTimeout(timer);
          child.stdout!.off("data", onData);
          return resolve(line);
        }
      }
    };
    child.stdout!.on("data", onData);
  });
}

/** Kills a child and, if it was spawned `detached` (a group of its own), everything it started. */
export function killGroup(child: ChildProcess): void {
  try {
    process.kill(-child.pid!, "SIGKILL");
  } catch {
    child.kill("SIGKILL");
  }
}
