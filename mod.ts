/**
 * chat: serverless, end-to-end encrypted messaging. You are your public key; a blinded, encrypted
 * record in BitTorrent's Mainline DHT turns it into an address; Noise IK sessions carry messages.
 *
 * @example Make an identity and the text you give your friends
 * ```ts
 * import { formatPublicKey, generateIdentity } from "chat";
 * const me = generateIdentity();
 * console.log(formatPublicKey(me.publicKey)); // 52 z-base-32 characters
 * ```
 * @module
 */
export * from "./src/crypto/mod.ts";
export { openSeed, sealSeed, type SealedSeed } from "./src/crypto/keyfile.ts";
export { ChatError, EXIT } from "./src/errors.ts";
