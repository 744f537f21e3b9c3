// `chat lookup PUBKEY`: the private DHT lookup of a contact record. Prints {"found":true,
// "addresses":[…],…}, or {"found":false,…} and exits 1 when no valid record exists.
import { formatAddress, lookup, type LookupResult } from "../contact.ts";
import { ChatError } from "../errors.ts";
import { openNode, parseDhtOptions, saveState, withTimeout } from "./_dht.ts";
import { log, print } from "./_io.ts";
import { resolveKey } from "./_peer.ts";

function resultJson(r: LookupResult) {
  const stats = { queried: r.queried, ms: Math.round(r.ms), rejected: r.rejected };
  if (!r.found) return { found: false, publicKey: r.publicKey, periods: r.periods, ...stats };
  return {
    found: true, publicKey: r.publicKey, addresses: r.addresses.map(formatAddress), announcedAt: r.announcedAt, seq: r.seq,
    period: r.period, ...stats,
  };
}

export async function run(args: string[], raw: Record<string, unknown>): Promise<number> {
  const opts = parseDhtOptions(raw);
  const [text] = args;
  if (text === undefined) throw ChatError.input("USAGE", "lookup needs a public key", "Usage: chat lookup PUBKEY");
  const publicKey = resolveKey(text, opts.stateDir);
  // A one-shot client: BEP 43 read-only, so no routing table keeps it once it is gone.
  const node = await openNode(opts, true);
  try {
    // No separate bootstrap: the lookup itself starts from the bootstrap list (and exits 3 if none answers).
    const result = await withTimeout(opts.timeout, "lookup", lookup(node, publicKey));
    print(resultJson(result));
    if (!result.found) log("hint: no valid record: is the peer announcing (chat listen, chat announce)? Records live up to 2 hours");
    return result.found ? 0 : 1;
  } finally {
    saveState(opts.stateDir, node);
    node.destroy();
  }
}
