// `chat send PUBKEY|NAME [TEXT]`: look up, handshake, deliver. Without TEXT every stdin line is a
// message, sent as it arrives (`tail -f log | chat send KEY`); one NDJSON line per message. With
// `--wait N` the session stays open N seconds after the last message, and replies are printed.
import { createInterface } from "node:readline";
import { formatPublicKey } from "../crypto/identity.ts";
import { boolean, check, numeric, object, optional, string } from "../_check.ts";
import { ChatError, EXIT } from "../errors.ts";
import type { Peer, Sent } from "../peer.ts";
import { log, parseHostPorts, print } from "./_io.ts";
import { formatAddress, withTimeout } from "./_dht.ts";
import { contactsFor, openPeer, PEER_OPTIONS } from "./_peer.ts";
import { failedJson, messageJson } from "./_events.ts";

const Options = object({
  ...PEER_OPTIONS,
  json: optional(boolean),
  address: optional(string()),
  wait: optional(numeric({ min: 0, max: 86_400 })),
});
const JsonLine = object({ text: string() });

export async function run(args: string[], raw: Record<string, unknown>): Promise<number> {
  const opts = check(Options, raw);
  const [key, ...words] = args as [string, ...string[]];
  const contacts = contactsFor(opts.stateDir);
  const to = contacts.resolve(key);
  const name = contacts.nameOf(to);
  const direct = opts.address === undefined ? undefined : parseHostPorts(opts.address, "--address")[0];
  const peer = await openPeer(opts, { join: direct === undefined, readOnly: true });
  const replies = opts.wait === undefined ? undefined : printReplies(peer, contacts.nameOf.bind(contacts));
  try {
    // The first message looks the key up (its handshake starts with the first valid record); the
    // others wait for it and go on its session. A failed first message makes the next look up again.
    let first: Promise<unknown> | undefined;
    let notFound: unknown;
    let failed = 0;
    const sendOne = async (text: string) => {
      const started = Date.now();
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
        print({ type: "delivered", id: sent.id, to: formatPublicKey(to), ...(name ? { name } : {}), rttMs: sent.rttMs, path: sent.path });
      } catch (err) {
        if ((err as ChatError).code === "NOT_FOUND") return void (notFound = err);
        failed++;
        print(failedJson(err, to, Date.now() - started));
      } finally {
        replies?.touch();
      }
    };
    const exit = () => {
      if (notFound) throw notFound;
      return failed ? EXIT.failed : EXIT.ok;
    };
    if (words.length) {
      await sendOne(words.join(" "));
    } else {
      let badInput = 0;
      const pending: Promise<void>[] = [];
      for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
        if (line.trim() === "") continue;
        const text = opts.json ? parseJsonLine(line) : line;
        if (text === undefined) badInput++;
        else pending.push(sendOne(text));
      }
      await Promise.all(pending);
      if (badInput) {
        await replies?.idle(opts.wait! * 1000);
        return EXIT.usage;
      }
    }
    if (!notFound) await replies?.idle(opts.wait! * 1000);
    return exit();
  } finally {
    replies?.stop();
    peer.close();
  }
}

/**
 * Prints every message that arrives while the peer is open; `idle(ms)` resolves once `ms` passed
 * with nothing sent (`touch`) or received.
 */
function printReplies(peer: Peer, nameOf: (key: Uint8Array) => string | undefined) {
  const inbox = peer.messages();
  let last = Date.now();
  let wake = () => {};
  void (async () => {
    for await (const m of inbox) {
      print(messageJson(m, nameOf(m.from)));
      last = Date.now();
      wake();
    }
  })();
  return {
    touch: () => void (last = Date.now()),
    async idle(ms: number) {
      for (let left = ms; left > 0; left = last + ms - Date.now()) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    },
    stop: () => void inbox.return?.(),
  };
}

/** A `--json` stdin line: `{"text": …}`; a malformed one is reported on stderr and skipped. */
function parseJsonLine(line: string): string | undefined {
  try {
    return check(JsonLine, JSON.parse(line)).text;
  } catch {
    process.stderr.write(JSON.stringify({ error: { code: "BAD_JSON", message: `Cannot parse stdin line as {"text": …}: ${JSON.stringify(line.slice(0, 80))}` } }) + "\n");
    return undefined;
  }
}
