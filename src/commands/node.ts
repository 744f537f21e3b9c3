// `chat node [--port N] [--stats [SECONDS]]`: one DHT node (a bootstrap for a private network)
// that also relays for listeners behind NAT (PROTOCOL §9), printing NDJSON events: listening,
// bootstrapped, stats (with --stats, the relay's counters included), closed.
import { bytesToHex } from "@noble/hashes/utils.js";
import { check, type Check, fail, numeric, object, optional } from "../_check.ts";
import { DHT_OPTIONS, formatAddress, openNode, saveState } from "./_dht.ts";
import { onSignal, print } from "./_io.ts";
import { RelayingTransport } from "../relaying.ts";

const seconds = numeric({ gt: 0 });
/** A bare `--stats`, or its period in seconds (anything that is no finite number: "Invalid input"). */
const stats: Check<true | number> = (v, path) => (v === true ? v : !Number.isFinite(Number(v)) ? fail(path, "Invalid input") : seconds(v, path));
const Options = object({ ...DHT_OPTIONS, stats: optional(stats) });
/** Seconds between stats lines with a bare --stats, and between state saves. */
const STATS_EVERY = 10;
const SAVE_EVERY = 300;

export async function run(_args: string[], raw: Record<string, unknown>): Promise<void> {
  const opts = check(Options, raw);
  let relaying: RelayingTransport | undefined;
  const node = await openNode(opts, false, (socket) => (relaying = new RelayingTransport(socket)));
  const stop = onSignal();
  const timers: ReturnType<typeof setInterval>[] = [];
  try {
    print({ type: "listening", address: formatAddress(node.address()), id: bytesToHex(node.id) });
    // The first node of a private network has nobody to join: it keeps running and is joined.
    const joined = await Promise.race([node.bootstrap().then((r) => r, (e: Error) => e), stop.signal]);
    if (typeof joined === "string") return;
    if (joined instanceof Error) print({ type: "bootstrap", ok: false, message: joined.message });
    else print({ type: "bootstrap", ok: true, nodes: node.table.size, external: node.externalAddress(), ms: Math.round(joined.stats.ms) });
    saveState(opts.stateDir, node);
    if (opts.stats !== undefined) {
      const every = opts.stats === true ? STATS_EVERY : opts.stats;
      timers.push(setInterval(() => print({ type: "stats", ...node.stats(), relay: relaying?.relay.stats }), every * 1000));
    }
    timers.push(setInterval(() => saveState(opts.stateDir, node), SAVE_EVERY * 1000));
    await stop.signal;
  } finally {
    for (const t of timers) clearInterval(t);
    stop.off();
    saveState(opts.stateDir, node);
    node.destroy();
    print({ type: "closed" });
  }
}
