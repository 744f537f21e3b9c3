// BEP 44 items: checks of puts and of answers. Targets and the signed buffer are the crypto
// layer's (src/crypto/record.ts: a contact record is a BEP 44 item too).
import { type BDict, type BInput, type BValue, encode, isBytes, isInt, tryDecode } from "../bencode.ts";
import { verifySync } from "../crypto/ed25519_native.ts";
import { bep44SignedBuffer, immutableTarget, mutableTarget } from "../crypto/record.ts";
import { KEY_LENGTH, MAX_SALT, MAX_VALUE, SIG_LENGTH } from "./constants.ts";
import { equal } from "./rpc.ts";

/** An item as a client puts it: `k`, `seq`, `sig` (and `salt`) for a mutable one, `v` alone for an immutable one. */
export interface PutItem {
  /** The value: bytes, text (UTF-8), integers, lists, dicts. */
  v: BInput;
  k?: Uint8Array;
  seq?: number | bigint;
  sig?: Uint8Array;
  salt?: Uint8Array;
  /** BEP 44 compare-and-swap: store only if the current seq is this. */
  cas?: number | bigint;
}

/** An item as a get returns it, with the exact bytes its signature covers. */
export interface Item {
  v: BValue;
  /** The bencoding of `v` (what the signature and the immutable target cover). */
  raw: Uint8Array;
  k?: Uint8Array;
  seq?: number | bigint;
  sig?: Uint8Array;
  salt?: Uint8Array;
}

/**
 * Ed25519 over the BEP 44 signed buffer, by the crypto layer's one strict rule (RFC 8032, no
 * ZIP-215 leniency, small-order R rejected): what the DHT accepts, a record lookup accepts too.
 * Checked natively where the runtime allows (verifySync: the same answers, 10× faster than @noble),
 * since every put a node stores and every record a lookup meets goes through here.
 */
export function verifyItem(item: { k: Uint8Array; sig: Uint8Array; seq: number | bigint; raw: Uint8Array; salt?: Uint8Array | undefined }): boolean {
  if (item.k.length !== KEY_LENGTH || item.sig.length !== SIG_LENGTH) return false;
  try {
    return verifySync(item.sig, bep44SignedBuffer({ seq: item.seq, v: item.raw, salt: item.salt }), item.k);
  } catch {
    return false; // remote bytes: never an exception
  }
}

/** Checks a put before sending it; the message names what is wrong (a RangeError/TypeError). */
export function checkPutItem(item: PutItem): { target: Uint8Array; raw: Uint8Array; mutable: boolean } {
  const raw = encode(item.v);
  if (raw.length > MAX_VALUE) throw new RangeError(`Item value is ${raw.length} bytes bencoded: BEP 44 allows ${MAX_VALUE}`);
  if (item.k === undefined) return { target: immutableTarget(raw), raw, mutable: false };
  if (item.k.length !== KEY_LENGTH) throw new RangeError(`Item key "k" must be ${KEY_LENGTH} bytes`);
  if (item.sig?.length !== SIG_LENGTH) throw new RangeError(`Item signature "sig" must be ${SIG_LENGTH} bytes`);
  if (item.seq === undefined || item.seq < 0) throw new RangeError(`Item "seq" must be a non-negative integer`);
  if (item.salt && item.salt.length > MAX_SALT) throw new RangeError(`Item salt is ${item.salt.length} bytes: BEP 44 allows ${MAX_SALT}`);
  return { target: mutableTarget(item.k, item.salt), raw, mutable: true };
}

/** The item of a get reply (`value`: `r.v` as its bencoding, krpc.ts), type-checked; null if there is none (well-formed). */
export function parseItem(r: BDict, value: Uint8Array | undefined, salt: Uint8Array | undefined): Item | null {
  const { k, sig, seq } = r;
  if (value === undefined || value.length > MAX_VALUE) return null;
  const raw = value.slice();
  const v = tryDecode(raw);
  if (v === null) return null;
  if (k === undefined && sig === undefined) return { v, raw };
  if (!isBytes(k) || k.length !== KEY_LENGTH || !isBytes(sig) || sig.length !== SIG_LENGTH || !isInt(seq) || seq < 0) return null;
  return { v, raw, k, sig, seq, ...(salt?.length ? { salt } : {}) };
}

/** BEP 44: the key (and salt) or the value hashes to the target, and a mutable item's signature verifies. */
export function validItem(item: Item, target: Uint8Array): boolean {
  if (!item.k || !item.sig || item.seq === undefined) return equal(immutableTarget(item.raw), target);
  return equal(mutableTarget(item.k, item.salt), target) && verifyItem({ k: item.k, sig: item.sig, seq: item.seq, raw: item.raw, salt: item.salt });
}

/** The same item (value, seq, signature) from two answers. */
export function sameItem(a: Item, b: Item): boolean {
  return equal(a.raw, b.raw) && a.seq === b.seq && (!a.sig || (!!b.sig && equal(a.sig, b.sig)));
}
