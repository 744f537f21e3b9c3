// `chat send PUBKEY [TEXT]`: look up, handshake, deliver. Without TEXT every stdin line is a
// message, sent as it arrives (`tail -f log | chat send KEY`); one NDJSON line per message.
import { createInterface } from "node:readline";
import { z } from "zod";
import { formatPublicKey, parsePublicKey } from "../crypto/identity.ts";
import type { Address } from "../crypto/record.ts";
import { ChatError, EXIT } from "../errors.ts";
import type { Peer } from "../peer.ts";
import { log, parseHostPorts, print } from "./_io.ts";
import { formatAddress } from "./_dht.ts";
import { openPeer, PeerOptions } from "./_peer.ts";

const Options = PeerOptions.extend({
  json: z.boolean().optional(),
  address: z.coerce.string().optional(),
});
const JsonLine = z.object({ text: z.string() });

export async function run(args: string[], raw: Record<string, unknown>): Promise<number> {
  const opts = Options.parse(raw);
  const [key, ...words] = args;
  if (key === undefined) throw ChatError.input("USAGE", "Missing PUBKEY", "Usage: chat send PUBKEY [TEXT] --identity FILE");
  const to = parsePublicKey(key);
  const direct = opts.address === undefined ? undefined : parseHostPorts(opts.address, "--address")[0];
  const peer = await openPeer(opts, { join: direct === undefined, readOnly: true });
  try {
    const address = direct ?? (await find(peer, to, opts.verbose === true));
    let failed = 0;
    const sendOne = async (text: string) => {
      try {
        const sent = await peer.send(to, text, { address });
        print({ type: "delivered", id: sent.id, to: formatPublicKey(to), rttMs: sent.rttMs });
      } catch (err) {
        failed++;
        const e = err as ChatError & { messageId?: Uint8Array; reason?: string };
        print({ type: "failed", id: e.messageId ?? null, to: formatPublicKey(to), reason: e.reason ?? e.code ?? "ERROR", message: e.message });
      }
    };
    if (words.length) {
      await sendOne(words.join(" "));
      return failed ? EXIT.failed : EXIT.ok;
    }
    let badInput = 0;
    const pending: Promise<void>[] = [];
    for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
      if (line.trim() === "") continue;
      const text = opts.json ? parseJsonLine(line) : line;
      if (text === undefined) badInput++;
      else pending.push(sendOne(text));
    }
    await Promise.all(pending);
    return badInput ? EXIT.usage : failed ? EXIT.failed : EXIT.ok;
  } finally {
    peer.close();
  }
}

async function find(peer: Peer, to: Uint8Array, verbose: boolean): Promise<Address> {
  const found = await peer.lookup(to);
  if (!found.found || !found.addresses[0]) {
    throw ChatError.failed("NOT_FOUND", `No contact record found for "${formatPublicKey(to)}"`,
      "Is the peer running `chat listen` on the same DHT? (--bootstrap / CHAT_BOOTSTRAP)");
  }
  if (verbose) log(`found ${formatPublicKey(to)} at ${found.addresses.map(formatAddress).join(", ")}`);
  return found.addresses[0];
}

/** A `--json` stdin line: `{"text": …}`; a malformed one is reported on stderr and skipped. */
function parseJsonLine(line: string): string | undefined {
  try {
    return JsonLine.parse(JSON.parse(line)).text;
  } catch {
    process.stderr.write(JSON.stringify({ error: { code: "BAD_JSON", message: `Cannot parse stdin line as {"text": …}: ${JSON.stringify(line.slice(0, 80))}` } }) + "\n");
    return undefined;
  }
}
