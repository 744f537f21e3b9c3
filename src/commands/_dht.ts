// Shared by the DHT commands (node, swarm, dht): options in, a node up, its state file, JSON out.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { bytesToHex } from "@noble/hashes/utils.js";
import { array, boolean, check, type Infer, number, numeric, object, optional, string, text } from "../_check.ts";
import type { BValue } from "../bencode.ts";
import type { NodeInfo } from "../dht/krpc.ts";
import type { LookupStats } from "../dht/lookup.ts";
import type { DhtNode, DhtState } from "../dht/node.ts";
import type { Address, Transport } from "../dht/transport.ts";
import { ChatError } from "../errors.ts";
import { log, parseHostPorts } from "./_io.ts";

/** The options of every DHT command, checked in this order. */
export const DHT_OPTIONS = {
  bootstrap: optional(text),
  port: optional(numeric({ int: true, min: 0, max: 65535 })),
  timeout: optional(numeric({ int: true, gt: 0 })),
  stateDir: optional(text),
  verbose: optional(boolean),
};
export type DhtOptions = Infer<typeof DHT_OPTIONS>;
const dhtOptions = object(DHT_OPTIONS);
export const parseDhtOptions = (raw: Record<string, unknown>): DhtOptions => check(dhtOptions, raw);

/** `--bootstrap`, else CHAT_BOOTSTRAP, else undefined (the DHT's default: the public routers). */
export function bootstrapList(opt: string | undefined): Address[] | undefined {
  const text = opt ?? process.env["CHAT_BOOTSTRAP"];
  return text === undefined || text === "" ? undefined : parseHostPorts(text, "bootstrap node");
}

const hex40 = string({ regex: /^[0-9a-f]{40}$/ });
const StateFile = object({
  id: hex40,
  nodes: array(object({ id: hex40, host: string({ max: 64 }), port: number({ int: true, min: 1, max: 65535 }) }), { max: 2000 }),
});
const STATE_FILE = "dht.json";

/** The routing table saved in `stateDir`, if there is a readable one (a bad file is skipped, not fatal). */
export function loadState(stateDir: string | undefined): DhtState | undefined {
  if (stateDir === undefined) return undefined;
  let text: string;
  try {
    text = readFileSync(join(stateDir, STATE_FILE), "utf8");
  } catch {
    return undefined;
  }
  try {
    return check(StateFile, JSON.parse(text));
  } catch {
    log(`warning: ignoring unreadable DHT state "${join(stateDir, STATE_FILE)}"`);
    return undefined;
  }
}

/** Saves the routing table in `stateDir` (written aside, then renamed: a crash never leaves half a file). */
export function saveState(stateDir: string | undefined, node: DhtNode): void {
  if (stateDir === undefined) return;
  try {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    const path = join(stateDir, STATE_FILE);
    writeFileSync(`${path}.tmp`, JSON.stringify(node.toJSON()) + "\n", { mode: 0o600 });
    renameSync(`${path}.tmp`, path);
  } catch (err) {
    log(`warning: cannot save DHT state in "${stateDir}": ${(err as Error).message}`);
  }
}

/**
 * Binds a node for the global options (bootstrap, port, state directory). A one-shot command
 * runs it read-only (BEP 43): the DHT does not keep a node that is about to exit.
 */
export async function openNode(opts: DhtOptions, readOnly = false, wrap?: (t: Transport) => Transport): Promise<DhtNode> {
  const bootstrap = bootstrapList(opts.bootstrap);
  const state = loadState(opts.stateDir);
  // Loaded here: send and listen open a Peer, and need neither the testnet nor its simulator.
  const { startNode } = await import("../dht/testnet.ts");
  try {
    return await startNode({
      ...(opts.port === undefined ? {} : { port: opts.port }),
      ...(bootstrap ? { bootstrap } : {}),
      ...(state ? { state } : {}),
      ...(wrap ? { wrap } : {}),
      readOnly,
    });
  } catch (err) {
    throw ChatError.input("CANNOT_BIND", `Cannot bind UDP port ${opts.port ?? 0}: ${(err as Error).message}`,
      "Choose another --port, or omit it for a free one");
  }
}

/** Runs `work`, failing with a clear error once `--timeout` ms have passed. */
export async function withTimeout<T>(ms: number | undefined, what: string, work: Promise<T>): Promise<T> {
  if (ms === undefined) return work;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(ChatError.failed("TIMEOUT", `${what} did not finish within ${ms} ms`, "Raise --timeout")), ms);
  });
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}

import { formatAddress } from "../contact.ts";
export { formatAddress };

export const nodeJson = (n: NodeInfo) => ({ id: bytesToHex(n.id), address: formatAddress(n) });

export const statsJson = (s: LookupStats) => ({ queries: s.queries, responses: s.responses, rounds: s.rounds, ms: Math.round(s.ms) });

/** A decoded bencoded value as JSON: byte strings as UTF-8 text when they are, else hex; big integers as strings. */
export function valueJson(v: BValue): unknown {
  if (v instanceof Uint8Array) {
    const text = utf8(v);
    return text ?? { hex: bytesToHex(v) };
  }
  if (typeof v === "bigint") return v.toString();
  if (typeof v === "number") return v;
  if (Array.isArray(v)) return v.map(valueJson);
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = valueJson(x);
  return out;
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });
function utf8(b: Uint8Array): string | null {
  try {
    return strictUtf8.decode(b);
  } catch {
    return null;
  }
}
