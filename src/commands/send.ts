// `chat send PUBKEY [TEXT]`: look up, handshake, deliver. Without TEXT every stdin line is a
// message, sent as it arrives (`tail -f log | chat send KEY`); one NDJSON line per message.
import { createInterface } from "node:readline";
import { z } from "zod";
import { formatPublicKey, parsePublicKey } from "../crypto/identity.ts";
import { ChatError, EXIT } from "../errors.ts";
import type { Sent } from "../peer.ts";
import { log, parseHostPorts, print } from "./_io.ts";
import { formatAddress, withTimeout } from "./_dht.ts";
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
    // The first message looks the key up (its handshake starts with the first valid record); the
    // others wait for it and go on its session. A failed first message makes the next look up again.
    let first: Promise<unknown> | undefined;
    let notFound: unknown;
    let failed = 0;
    const sendOne = async (text: string) => {
      try {
        let sent: Sent;
        if (direct) sent = await withTimeout(opts.timeout, "send", peer.send(to, text, { address: direct }));
        else if (first) {
          await first;
          sent = await withTimeout(opts.timeout, "send", peer.send(to, text));
        } else {
          const firstSend = withTimeout(opts.timeout, "lookup and send", peer.send(to, text));
          first = firstSend.catch(() => (first = undefined));
          sent = await firstSend;
          if (opts.verbose) log(`found ${formatPublicKey(to)} at ${formatAddress(sent.address)} in ${sent.lookupMs} ms`);
        }
        print({ type: "delivered", id: sent.id, to: formatPublicKey(to), rttMs: sent.rttMs, path: sent.path });
      } catch (err) {
        const e = err as ChatError & { messageId?: Uint8Array; reason?: string };
        if (e.code === "NOT_FOUND") return void (notFound = err);
        failed++;
        print({ type: "failed", id: e.messageId ?? null, to: formatPublicKey(to), reason: e.reason ?? e.code ?? "ERROR", message: e.message });
      }
    };
    const exit = () => {
      if (notFound) throw notFound;
      return failed ? EXIT.failed : EXIT.ok;
    };
    if (words.length) {
      await sendOne(words.join(" "));
      return exit();
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
    return badInput ? EXIT.usage : exit();
  } finally {
    peer.close();
  }
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
