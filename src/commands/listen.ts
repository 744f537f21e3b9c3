// `chat listen`: bind, announce and keep the record fresh, accept sessions, print NDJSON events.
import { z } from "zod";
import { formatPublicKey } from "../crypto/identity.ts";
import type { AnnounceResult } from "../contact.ts";
import { announcedJson, parseAddresses } from "./announce.ts";
import { log, onSignal, parseHostPorts, print } from "./_io.ts";
import { formatAddress } from "./_dht.ts";
import { openPeer, PeerOptions } from "./_peer.ts";

const Options = PeerOptions.extend({
  count: z.coerce.number().int().positive().optional(),
  address: z.union([z.coerce.string(), z.array(z.coerce.string())]).optional(),
  relay: z.coerce.string().optional(),
});

export async function run(_args: string[], raw: Record<string, unknown>): Promise<void> {
  const opts = Options.parse(raw);
  const addresses = opts.address === undefined ? undefined : parseAddresses(opts.address);
  const relays = relayList(opts.relay);
  const peer = await openPeer(opts, { ...(relays ? { relays } : {}) });
  const stop = onSignal();
  // Subscribed before announcing: a sender that knows our address need not wait for the record.
  const messages = peer.messages();
  let reason = "count";
  try {
    print({ type: "listening", publicKey: peer.publicKey, address: formatAddress(peer.address()), node: peer.dht.stats().id });
    const onAnnounce = (r: AnnounceResult) => print(announcedJson(r));
    await peer.keepAnnounced({
      ...(addresses ? { addresses } : {}),
      onAnnounce,
      onError: (e) => log(`announce failed: ${(e as Error).message}`),
      onNat: (e) => print({ type: "nat", behindNat: e.behindNat, publicAddress: e.publicAddress && formatAddress(e.publicAddress) }),
      onRelay: (relay, state) => print({ type: "relay", address: formatAddress(relay), state }),
    });
    void stop.signal.then((signal) => {
      reason = signal;
      return messages.return?.();
    });
    let received = 0;
    for await (const m of messages) {
      print({ type: "message", from: formatPublicKey(m.from), id: m.id, text: m.text, sentAt: m.sentAt, receivedAt: m.receivedAt, path: m.path });
      if (opts.count !== undefined && ++received >= opts.count) break;
    }
  } finally {
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
