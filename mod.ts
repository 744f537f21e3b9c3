/**
 * chat: serverless, end-to-end encrypted messaging. You are your public key; a blinded, encrypted
 * record in BitTorrent's Mainline DHT turns it into an address; Noise IK sessions carry messages.
 *
 * @example An echo bot (examples/echo_bot.ts, run by the test suite)
 * ```ts
 * import { formatPublicKey, generateIdentity, Peer } from "mainline-chat";
 * const peer = await Peer.open({ identity: generateIdentity() });
 * await peer.bootstrap();                         // join the DHT (exit code 3 in the CLI if nobody answers)
 * await peer.keepAnnounced();                     // publish our record, and keep it fresh
 * console.log("talk to me:", peer.publicKey);
 * for await (const m of peer.messages()) {
 *   // A sender that left makes its reply fail: log it, and go on with the others.
 *   peer.reply(m.from, `echo: ${m.text}`).catch((e) => console.error(formatPublicKey(m.from), e.message));
 * }
 * ```
 * @module
 */
export { Peer, type PeerOptions, type SendOptions, type Sent } from "./src/peer.ts";
export {
  announce, Announcer, formatAddress, lookup,
  type AnnounceOptions, type AnnounceResult, type AnnouncerOptions, type ContactDht, type LookupFound, type LookupNotFound,
  type LookupOptions, type LookupResult, type PeriodAnnouncement,
} from "./src/contact.ts";
export * from "./src/crypto/mod.ts";
export { openSeed, scryptProblem, sealSeed, type ScryptParams, type SealedSeed } from "./src/crypto/keyfile.ts";
export {
  type Clock, createTestnet, DhtNode, type DhtOptions, type GetResult, type PutResult, type Testnet, type Transport, UdpTransport,
} from "./src/dht/mod.ts";
export {
  DeliveryError, SessionEndpoint,
  type Delivery, type DeliveryFailure, type IncomingMessage, type MessagesOptions, type SessionEndpointOptions,
} from "./src/wire/mod.ts";
export { ChatError, EXIT } from "./src/errors.ts";
