// `chat announce`: publish the encrypted, blinded contact record once (for cron), or keep it
// fresh with `--every DURATION` until SIGINT/SIGTERM, printing one line per publication.
import { isIP } from "node:net";
import { array, check, object, optional, text } from "../_check.ts";
import type { Address } from "../crypto/record.ts";
import { announce, Announcer, type AnnounceResult, formatAddress } from "../contact.ts";
import { wipeIdentity } from "../crypto/identity.ts";
import { ChatError } from "../errors.ts";
import { openNode, saveState, withTimeout } from "./_dht.ts";
import { PEER_OPTIONS } from "./_peer.ts";
import { loadIdentity } from "./_identity.ts";
import { log, onSignal, parseHostPorts, print } from "./_io.ts";

const Options = object({
  ...PEER_OPTIONS,
  address: optional((v, path) => (Array.isArray(v) ? array(text)(v, path) : text(v, path))),
  every: optional(text),
});

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
/** Republishing more often than this only burns the storing nodes' write budget. */
const MIN_EVERY = 1000;
/** Records expire after 2 hours, and the Announcer publishes within every period's last 10 minutes anyway. */
const MAX_EVERY = 2 * 3_600_000;

/** `90s`, `30m`, `1h`, `1h30m`, `500ms` → milliseconds. */
function parseDuration(text: string): number {
  const parts = /^(?:\d+(?:ms|s|m|h))+$/.test(text) ? [...text.matchAll(/(\d+)(ms|s|m|h)/g)] : [];
  const ms = parts.reduce((sum, [, n, unit]) => sum + Number(n) * UNITS[unit!]!, 0);
  if (parts.length === 0) {
    throw ChatError.input("BAD_DURATION", `Cannot parse duration "${text}": expected a number and a unit, like 90s, 30m or 1h`);
  }
  if (ms < MIN_EVERY || ms > MAX_EVERY) {
    throw ChatError.input("BAD_DURATION", `Cannot use duration "${text}": expected 1s to 2h`);
  }
  return ms;
}

/** `--address`, repeatable or comma-separated: IP literals only (the record holds compact addresses). */
export function parseAddresses(raw: string | string[]): Address[] {
  const addresses = [raw].flat().flatMap((text) => parseHostPorts(text, "--address"));
  for (const a of addresses) {
    if (!isIP(a.host)) throw ChatError.input("BAD_ADDRESS", `Cannot announce "${a.host}:${a.port}": expected an IP address, not a host name`);
  }
  if (addresses.length > 8) throw ChatError.input("BAD_ADDRESS", `Cannot announce ${addresses.length} addresses: a record holds at most 8`);
  return addresses;
}

/** The `announced` event, as `chat announce` and `chat listen` print it. */
export function announcedJson(r: AnnounceResult) {
  return { type: "announced", ...r, addresses: r.addresses.map(formatAddress), relays: r.relays.map(formatAddress), ms: Math.round(r.ms) };
}

export async function run(_args: string[], raw: Record<string, unknown>): Promise<number> {
  const opts = check(Options, raw);
  const addresses = opts.address === undefined ? undefined : parseAddresses(opts.address);
  const every = opts.every === undefined ? undefined : parseDuration(opts.every);
  const identity = await loadIdentity(opts.identity, { passphraseEnv: opts.passphraseEnv });
  if (!addresses && every === undefined) {
    log("note: without --address the record names this process's own UDP socket, which closes when it exits");
  }
  // Publishing once (cron) is a one-shot client: BEP 43 read-only; --every keeps a full node.
  const node = await openNode(opts, every === undefined);
  try {
    if (every === undefined) {
      const result = await withTimeout(opts.timeout, "announce", (async () => {
        await node.bootstrap();
        return announce(node, identity, addresses ? { addresses } : {});
      })());
      print(announcedJson(result));
      if (result.stored === 0) {
        throw ChatError.failed("NOT_STORED", "No DHT node stored the record", "Check the bootstrap list; the closest nodes may be refusing writes");
      }
      return 0;
    }
    const stop = onSignal();
    const announcer = new Announcer(node, identity, {
      every,
      ...(addresses ? { addresses } : {}),
      onAnnounce: (r) => print(announcedJson(r)),
      onError: (err) => log(`announce failed: ${(err as Error).message}`),
    });
    try {
      // --timeout bounds joining the DHT and the first publication; later ones retry on their own.
      await withTimeout(opts.timeout, "announce", (async () => {
        await node.bootstrap();
        await announcer.start();
      })());
      await stop.signal;
    } finally {
      stop.off();
      announcer.stop();
    }
    return 0;
  } finally {
    saveState(opts.stateDir, node);
    node.destroy();
    wipeIdentity(identity);
  }
}
