/**
 * The crypto layer of chat/1 (PROTOCOL.md §§1–4, §6): identities and their text form, key
 * blinding, encrypted contact records, and the Noise handshake. Pure computation: no I/O.
 *
 * @example Publish-side and lookup-side of a contact record
 * ```ts
 * import { generateIdentity, formatPublicKey, parsePublicKey, periodOf, sealRecord, openRecord } from "./mod.ts";
 * const me = generateIdentity();
 * const now = Math.floor(Date.now() / 1000);
 * const record = sealRecord(me, periodOf(now), { addresses: [{ host: "192.0.2.1", port: 6881 }], t: now }, now);
 * // ... a friend who knows formatPublicKey(me.publicKey) fetches `record` from target record.target:
 * const result = openRecord(parsePublicKey(formatPublicKey(me.publicKey)), periodOf(now), record, now);
 * if (result.ok) console.log(result.addresses);
 * ```
 * @module
 */
export { wipe } from "./_utils.ts";
export { decodeZBase32, encodeZBase32 } from "./zbase32.ts";
export {
  formatPublicKey, generateIdentity, identityFromSeed, isValidPublicKey, parsePublicKey, wipeIdentity, x25519FromEd25519Public,
  type Identity,
} from "./identity.ts";
export {
  blindFactor, blindIdentity, blindPublicKey, PERIOD, periodOf, signExpanded, verify, verifyAsync, type ExpandedKey,
} from "./blind.ts";
export {
  bencodeBytes, bep44SignedBuffer, decodeCompactAddress, decodeRecordPlaintext, encodeCompactAddress, encodeRecordPlaintext,
  immutableTarget, MAX_ADDRESSES, MAX_VALUE_LENGTH, mutableTarget, openRecord, recordKey, recordLookup, recordTarget, sealRecord,
  type Address, type OpenResult, type OpenedRecord, type RecordContent, type RecordItem, type RecordLookup, type RecordRejection,
  type SealedRecord,
} from "./record.ts";
export {
  CipherState, HandshakeState, MAX_MESSAGE_LENGTH, SymmetricState,
  type HandshakeOptions, type HandshakePattern,
} from "./noise.ts";
export type { KeyPair } from "./x25519.ts";
