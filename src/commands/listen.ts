// `chat listen`: bind, announce and keep the record fresh (through relays behind NAT, PROTOCOL
// §9), accept sessions, print NDJSON events.
import { array, check, numeric, object, optional, string } from "../_check.ts";
import type { AnnounceResult } from "../contact.ts";
import { announcedJson, parseAddresses } from "./announce.ts";
import { messageJson } from "./_events.ts";
import { log, onSignal, parseHostPorts, print, printed } from "./_io.ts";
import { formatAddress } from "./_dht.ts";
import { contactsFor, openPeer, PEER_OPTIONS } from "./_peer.ts";
import { IdentityWatch } from "./_watch.ts";

const Options = object({
  ...PEER_OPTIONS,
  count: optional(numeric({ int: true, gt: 0 })),
  address: optional(array(string())),
  relay: optional(string()),
  keepalive: optional(numeric({ gt: 0, max: 3600 })),
});

export async function run(_args: string[], raw: Record<string, unknown>): Promise<void> {
  const opts = check(Options, raw);
  const addresses = opts.address === undefined ? undefined : parseAddresses(opts.address);
  const contacts = contactsFor(opts.stateDir);
  const relays = relayList(opts.relay);
  const peer = await openPeer(opts, { ...(relays ? { relays } : {}), ...(opts.keepalive ? { keepalive: opts.keepalive * 1000 } : {}) });
  const stop = onSignal();
  // Subscribed before announcing: a sender that knows our address need not wait for the record.
  // A message is acked when the loop asks for the next one, after its line reached stdout: a
  // reader that does not read fills a bounded queue, then senders see failures, never lost acks.
  const messages = peer.messages({ ack: "next" });
  const watch = new IdentityWatch(peer, print);
  let writing = Promise.resolve();
  let reason = "count";
  try {
    print({ type: "listening", publicKey: peer.publicKey, address: formatAddress(peer.address()), node: peer.dht.stats().id });
    await watch.beforeAnnounce();
    const onAnnounce = (r: AnnounceResult) => {
      print(announcedJson(r));
      watch.announced(r);
    };
    await peer.keepAnnounced({
      ...(addresses ? { addresses } : {}),
      onAnnounce,
      onError: (e) => log(`announce failed: ${(e as Error).message}`),
      onNat: (e) => print({ type: "nat", behindNat: e.behindNat, publicAddress: e.publicAddress && formatAddress(e.publicAddress) }),
      onRelay: (relay, state) => print({ type: "relay", address: formatAddress(relay), state }),
    });
    void stop.signal.then(async (signal) => {
      reason = signal;
      await writing.catch(() => {}); // the line being written is acked once it is out, not before
      return messages.return?.();
    });
    let received = 0;
    for await (const m of messages) {
      writing = printed(messageJson(m, contacts.nameOf(m.from)));
      await writing;
      if (opts.count !== undefined && ++received >= opts.count) break;
    }
  } finally {
    watch.stop();
    stop.off();
    peer.close();
  }
  print({ type: "closed", reason });
}

/** `--relay host:port,…`, else CHAT_RELAYS: relays to use behind NAT (PROTOCOL §9). */
function relayList(opt: string | undefined) {
  const text = opt ?? process.env["CHAT_RELAYS"];
  return text === undefined || text === "" ? undefined : parseHostPorts(text, "relay");
}
