// `chat talk NAME|PUBKEY`: one conversation on one socket. It announces us (so the friend can
// reach us too), looks the friend up, sends each line typed and shows what arrives. On a terminal
// it is a view for a person (_talk_view.ts); otherwise NDJSON both ways, for scripts.
import { createInterface } from "node:readline";
import { array, check, object, optional, string } from "../_check.ts";
import { formatPublicKey } from "../crypto/identity.ts";
import type { AnnounceResult } from "../contact.ts";
import { announcedJson, parseAddresses } from "./announce.ts";
import { formatAddress } from "./_dht.ts";
import { failedJson, messageJson } from "./_events.ts";
import { onSignal, print } from "./_io.ts";
import { contactsFor, openPeer, PEER_OPTIONS } from "./_peer.ts";
import { type TalkView, TerminalView } from "./_talk_view.ts";
import { IdentityWatch } from "./_watch.ts";

const Options = object({ ...PEER_OPTIONS, address: optional(array(string())) });
const JsonLine = object({ text: string() });


export async function run(args: string[], raw: Record<string, unknown>): Promise<void> {
  const opts = check(Options, raw);
  const contacts = contactsFor(opts.stateDir);
  const to = contacts.resolve(args[0]!);
  const toKey = formatPublicKey(to);
  const name = contacts.nameOf(to);
  const addresses = opts.address === undefined ? undefined : parseAddresses(opts.address);
  const peer = await openPeer(opts);
  const stop = onSignal();
  const inbox = peer.messages();
  const tty = Boolean(process.stdin.isTTY && process.stdout.isTTY);
  const view: TalkView = tty ? new TerminalView(toKey, name ?? `${toKey.slice(0, 8)}…`) : new NdjsonView();
  const watch = new IdentityWatch(peer, (w) => view.event({ ...w }));
  const pending = new Set<Promise<void>>();
  let reason = "end of input";
  try {
    view.event({ type: "listening", publicKey: peer.publicKey, address: formatAddress(peer.address()), to: toKey, ...(name ? { name } : {}) });
    await watch.beforeAnnounce();
    const onAnnounce = (r: AnnounceResult) => {
      view.event(announcedJson(r));
      watch.announced(r);
    };
    await peer.keepAnnounced({ ...(addresses ? { addresses } : {}), onAnnounce, onError: (e) => view.event({ type: "warning", code: "ANNOUNCE_FAILED", message: (e as Error).message }) });
    void peer.lookup(to).then(
      (r) => view.event(r.found
        ? { type: "found", to: toKey, ...(name ? { name } : {}), addresses: r.addresses.map(formatAddress) }
        : { type: "not-found", to: toKey, ...(name ? { name } : {}) }),
      (e: Error) => view.event({ type: "not-found", to: toKey, ...(name ? { name } : {}), message: e.message }),
    );
    void (async () => {
      for await (const m of inbox) view.event(messageJson(m, contacts.nameOf(m.from)));
    })();

    const typed = (async () => {
      for await (const text of view.lines()) {
        const handle = view.outgoing(text);
        const started = Date.now();
        const sending = peer.send(to, text).then(
          (sent) => view.settle(handle, { type: "delivered", id: sent.id, to: toKey, ...(name ? { name } : {}), rttMs: sent.rttMs }),
          (err) => view.settle(handle, failedJson(err, to, Date.now() - started)),
        );
        pending.add(sending);
        void sending.finally(() => pending.delete(sending));
      }
      // Leaving with Ctrl-D or at the end of a script's input: what was typed is still delivered.
      await Promise.all(pending);
      return reason;
    })();
    reason = await Promise.race([typed, view.interrupted, stop.signal]);
  } finally {
    watch.stop();
    stop.off();
    void inbox.return?.();
    peer.close();
    view.event({ type: "closed", reason });
    view.close();
  }
}

/** Scripts: stdin lines are `{"text": …}` (or plain text), stdout lines are the events. */
class NdjsonView implements TalkView {
  readonly interrupted = new Promise<string>(() => {});
  readonly #input = createInterface({ input: process.stdin, crlfDelay: Infinity });

  async *lines(): AsyncIterable<string> {
    for await (const line of this.#input) {
      if (line.trim() === "") continue;
      if (!line.startsWith("{")) {
        yield line;
        continue;
      }
      try {
        yield check(JsonLine, JSON.parse(line)).text;
      } catch {
        process.stderr.write(JSON.stringify({ error: { code: "BAD_JSON", message: `Cannot parse stdin line as {"text": …}: ${JSON.stringify(line.slice(0, 80))}` } }) + "\n");
      }
    }
  }

  event(e: Record<string, unknown>): void {
    print(e);
  }

  outgoing(): undefined {
    return undefined;
  }

  settle(_handle: unknown, e: Record<string, unknown>): void {
    print(e);
  }

  close(): void {
    // A signal can end the conversation while stdin is still open: let go of it, or it keeps us alive.
    this.#input.close();
    process.stdin.destroy();
  }
}
