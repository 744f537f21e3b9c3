// `chat node [--port N] [--stats [SECONDS]]`: one DHT node (a bootstrap for a private network)
// that also relays for listeners behind NAT (PROTOCOL §9), printing NDJSON events: listening,
// bootstrapped, stats (with --stats, the relay's counters included), closed.
import { z } from "zod";
import { bytesToHex } from "@noble/hashes/utils.js";
import { DhtOptions, formatAddress, openNode, saveState } from "./_dht.ts";
import { onSignal, print } from "./_io.ts";
import { RelayingTransport } from "../relaying.ts";

const Options = DhtOptions.extend({
  stats: z.union([z.boolean(), z.coerce.number().positive()]).optional(),
});
/** Seconds between stats lines with a bare --stats, and between state saves. */
const STATS_EVERY = 10;
const SAVE_EVERY = 300;

export async function run(_args: string[], raw: Record<string, unknown>): Promise<void> {
  const opts = Options.parse(raw);
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
    if (opts.stats !== undefined && opts.stats !== false) {
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
