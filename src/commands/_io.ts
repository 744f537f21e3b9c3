// Shared helpers of the thin command layer: JSON out, options in.
import { ChatError } from "../errors.ts";

/** Prints one JSON value as one line on stdout (JSON for results, NDJSON for streams). */
export function print(value: unknown): void {
  process.stdout.write(JSON.stringify(value, jsonBytes) + "\n");
}

/**
 * Prints one JSON line and resolves once stdout has taken it (handed it to the OS). Awaiting each
 * line honours stdout's backpressure: a reader that does not read holds the writer, not memory.
 */
export function printed(value: unknown): Promise<void> {
  return new Promise((resolve, reject) => {
    process.stdout.write(JSON.stringify(value, jsonBytes) + "\n", (err) => (err ? reject(err) : resolve()));
  });
}

/** Bytes in output are hex: JSON has no byte type, and hex is what `jq` users expect. */
function jsonBytes(_key: string, value: unknown): unknown {
  return value instanceof Uint8Array ? Buffer.from(value).toString("hex") : value;
}

/** Prints a diagnostic line on stderr (never stdout: stdout is for JSON only). */
export function log(message: string): void {
  process.stderr.write(message + "\n");
}

/**
 * Resolves `signal` when SIGINT or SIGTERM arrives, so long-running commands exit cleanly on
 * either; `off()` removes the handlers (Deno keeps a process alive while a handler is set).
 */
export function onSignal(): { signal: Promise<NodeJS.Signals>; off: () => void } {
  let off = () => {};
  const signal = new Promise<NodeJS.Signals>((resolve) => {
    const on = (sig: NodeJS.Signals) => {
      off();
      resolve(sig);
    };
    off = () => {
      process.off("SIGINT", on);
      process.off("SIGTERM", on);
    };
    process.on("SIGINT", on);
    process.on("SIGTERM", on);
  });
  return { signal, off };
}

/** Parses a `host:port` list (comma separated), as `--bootstrap` and `CHAT_BOOTSTRAP` take it. */
export function parseHostPorts(text: string, what = "address"): { host: string; port: number }[] {
  return text.split(",").map((s) => s.trim()).filter(Boolean).map((s) => {
    const m = /^(\[[0-9a-fA-F:.]+\]|[^:\s]+):(\d{1,5})$/.exec(s);
    const port = Number(m?.[2]);
    if (!m || port < 1 || port > 65535) {
      throw ChatError.input("BAD_ADDRESS", `Cannot parse ${what} "${s}": expected host:port`);
    }
    return { host: m[1]!.replace(/^\[|\]$/g, ""), port };
  });
}
