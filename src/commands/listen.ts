// `chat listen`: bind, announce and keep the record fresh, accept sessions, print NDJSON events.
import { z } from "zod";
import type { AnnounceResult } from "../contact.ts";
import { announcedJson, parseAddresses } from "./announce.ts";
import { messageJson } from "./_events.ts";
import { log, onSignal, print } from "./_io.ts";
import { formatAddress } from "./_dht.ts";
import { contactsFor, openPeer, PeerOptions } from "./_peer.ts";
import { IdentityWatch } from "./_watch.ts";

const Options = PeerOptions.extend({
  count: z.coerce.number().int().positive().optional(),
  address: z.array(z.string()).optional(),
});

export async function run(_args: string[], raw: Record<string, unknown>): Promise<void> {
  const opts = Options.parse(raw);
  const addresses = opts.address === undefined ? undefined : parseAddresses(opts.address);
  const contacts = contactsFor(opts.stateDir);
  const peer = await openPeer(opts);
  const stop = onSignal();
  // Subscribed before announcing: a sender that knows our address need not wait for the record.
  const messages = peer.messages();
  const watch = new IdentityWatch(peer, print);
  let reason = "count";
  try {
    print({ type: "listening", publicKey: peer.publicKey, address: formatAddress(peer.address()), node: peer.dht.stats().id });
    await watch.beforeAnnounce();
    const onAnnounce = (r: AnnounceResult) => {
      print(announcedJson(r));
      watch.announced(r);
    };
    await peer.keepAnnounced({ ...(addresses ? { addresses } : {}), onAnnounce, onError: (e) => log(`announce failed: ${(e as Error).message}`) });
    void stop.signal.then((signal) => {
      reason = signal;
      return messages.return?.();
    });
    let received = 0;
    for await (const m of messages) {
      print(messageJson(m, contacts.nameOf(m.from)));
      if (opts.count !== undefined && ++received >= opts.count) break;
    }
  } finally {
    watch.stop();
    stop.off();
    peer.close();
  }
  print({ type: "closed", reason });
}
