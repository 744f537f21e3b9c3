// Starting a peer from the global CLI options: identity, port, bootstrap list (exit 3 if none
// answers) and the saved routing table, as the DHT commands do (_dht.ts).
import { check, type Infer, object, optional, text } from "../_check.ts";
import type { Address } from "../crypto/record.ts";
import { Contacts, stateDirectory } from "../contacts.ts";
import { Peer } from "../peer.ts";
import { bootstrapList, DHT_OPTIONS, loadState, saveState } from "./_dht.ts";
import { loadIdentity } from "./_identity.ts";

/** The options of every command that opens a peer: the DHT's, then the identity's. */
export const PEER_OPTIONS = { ...DHT_OPTIONS, identity: optional(text), passphraseEnv: optional(text) };
export type PeerOptions = Infer<typeof PEER_OPTIONS>;
const peerOptions = object(PEER_OPTIONS);
export const parsePeerOptions = (raw: Record<string, unknown>): PeerOptions => check(peerOptions, raw);

/**
 * Opens a peer for the identity of `--identity`; joins the DHT unless `join` is false. A
 * short-lived client passes `readOnly` (BEP 43), so that no routing table keeps it once it is gone.
 */
export async function openPeer(
  opts: PeerOptions,
  { join = true, readOnly = false, relays, keepalive }: { join?: boolean; readOnly?: boolean; relays?: Address[]; keepalive?: number } = {},
): Promise<Peer> {
  const identity = await loadIdentity(opts.identity, { passphraseEnv: opts.passphraseEnv });
  const bootstrap = bootstrapList(opts.bootstrap);
  const state = loadState(opts.stateDir);
  const peer = await Peer.open({
    identity,
    ...(opts.port === undefined ? {} : { port: opts.port }),
    ...(bootstrap ? { bootstrap } : {}),
    ...(state ? { state } : {}),
    readOnly,
    ...(relays ? { relays } : {}),
    ...(keepalive ? { keepalive } : {}),
  });
  if (join) {
    try {
      await peer.bootstrap();
      saveState(opts.stateDir, peer.dht);
    } catch (err) {
      peer.close();
      throw err;
    }
  }
  return peer;
}

/** The contacts of the state directory (`--state-dir`, CHAT_STATE_DIR, XDG). */
export function contactsFor(stateDir: string | undefined): Contacts {
  return new Contacts(stateDirectory(stateDir));
}

/** A PUBKEY argument: a public key, or the name of a contact. */
export function resolveKey(text: string, stateDir: string | undefined): Uint8Array {
  return contactsFor(stateDir).resolve(text);
}
