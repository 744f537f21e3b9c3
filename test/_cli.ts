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
export function runChat(args: string[], opts: { stdin?: string; env?: Record<string, string>; timeoutMs?: number; runtime?: "node" | "deno" } = {}): Promise<Ran> {
  const child = startChat(args, opts);
  child.stdin!.end(opts.stdin ?? "");
  return finished(child, opts.timeoutMs ?? 20_000);
}

export function startChat(args: string[], opts: { env?: Record<string, string>; runtime?: "node" | "deno" } = {}): ChildProcess {
  const [cmd, pre] = chatCommand(opts.runtime);
  return spawn(cmd, [...pre, ...args], { env: { ...process.env, NO_COLOR: "1", CHAT_STATE_DIR: stateDir, ...opts.env }, stdio: ["pipe", "pipe", "pipe"] });
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
