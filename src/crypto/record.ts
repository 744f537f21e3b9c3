/**
 * The contact record (PROTOCOL §4): a BEP 44 mutable item under the blinded key A', whose value
 * is the announcer's addresses encrypted with a key only those who know A can derive.
 * @module
 */
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { sha1 } from "@noble/hashes/legacy.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { encode, isDict, tryDecode } from "../bencode.ts";
import { abytes, ascii, concatBytes, equalBytes, randomBytes, u64be, wipe } from "./_utils.ts";
import { blindIdentity, blindPublicKey, signExpanded, verify } from "./blind.ts";
import type { Identity } from "./identity.ts";

/** BEP 44: the bencoded value may be at most 1000 bytes. */
export const MAX_VALUE_LENGTH = 1000;
/** PROTOCOL §4: at most 8 addresses per record. */
export const MAX_ADDRESSES = 8;
/** PROTOCOL §4: a record's t may be this far in the past… */
export const MAX_RECORD_AGE = 2 * 3600;
/** …and this far in the future (clock skew). */
export const MAX_RECORD_SKEW = 300;
/** PROTOCOL §9: at most 4 relays per record. */
export const MAX_RELAYS = 4;
/** PROTOCOL §9: a relay tag is the first 16 bytes of SHA-256("chat/1 relay" || secret), a 32-byte secret. */
export const RELAY_TAG_LENGTH = 16;
export const RELAY_SECRET_LENGTH = 32;
const NONCE_LENGTH = 12;
const TAG_LENGTH = 16;
const RECORD = ascii("chat/1 record");
const RELAY = ascii("chat/1 relay");

export type Address = { host: string; port: number };

// ---- BEP 44 ----------------------------------------------------------------------------------

/** BEP 44 mutable target: SHA-1(k || salt). */
export function mutableTarget(k: Uint8Array, salt?: Uint8Array): Uint8Array {
  return sha1(concatBytes(abytes(k, 32, "k"), abytes(salt ?? new Uint8Array(0), undefined, "salt")));
}

/** BEP 44 immutable target: SHA-1 of the bencoded value. */
export function immutableTarget(bencodedValue: Uint8Array): Uint8Array {
  return sha1(abytes(bencodedValue, undefined, "bencodedValue"));
}

/** The length of `<len>:<bytes>`, the bencoding of a byte string. */
function bencodedLength(bytes: Uint8Array): number {
  return String(bytes.length).length + 1 + bytes.length;
}

/** Bencodes a byte string: `<len>:<bytes>`. */
export function bencodeBytes(bytes: Uint8Array): Uint8Array {
  return concatBytes(ascii(`${abytes(bytes, undefined, "bytes").length}:`), bytes);
}

/**
 * BEP 44 "Signature Verification": the bytes a mutable item's signature covers,
 * `4:salt<len>:<salt>` (only if salt is non-empty) `3:seqi<seq>e1:v` then the bencoded value.
 */
export function bep44SignedBuffer(item: { salt?: Uint8Array | undefined; seq: number | bigint; v: Uint8Array }): Uint8Array {
  const seq = item.seq;
  if (typeof seq === "number" ? !Number.isSafeInteger(seq) : typeof seq !== "bigint") {
    throw new RangeError(`"seq" expected an integer, got ${String(seq)}`);
  }
  const salt = item.salt === undefined ? new Uint8Array(0) : abytes(item.salt, undefined, "salt");
  abytes(item.v, undefined, "v");
  return concatBytes(
    salt.length > 0 ? concatBytes(ascii("4:salt"), bencodeBytes(salt)) : new Uint8Array(0),
    ascii(`3:seqi${seq}e1:v`),
    item.v,
  );
}

// ---- Compact addresses (PROTOCOL §1) -----------------------------------------------------------

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

function parseIPv4(host: string): Uint8Array | undefined {
  return IPV4.test(host) ? Uint8Array.from(host.split("."), Number) : undefined;
}

/** RFC 4291 §2.2 text forms: eight groups, one `::`, optionally a dotted IPv4 tail. No zone. */
function parseIPv6(host: string): Uint8Array | undefined {
  const halves = host.split("::");
  if (halves.length > 2) return undefined;
  const groups = (side: string, last: boolean): number[] | undefined => {
    if (side === "") return [];
    const out: number[] = [];
    const pieces = side.split(":");
    for (const [i, piece] of pieces.entries()) {
      const v4 = last && i === pieces.length - 1 ? parseIPv4(piece) : undefined;
      if (v4) out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      else if (HEX_GROUP.test(piece)) out.push(parseInt(piece, 16));
      else return undefined;
    }
    return out;
  };
  const head = groups(halves[0] as string, halves.length === 1);
  const tail = halves.length === 2 ? groups(halves[1] as string, true) : [];
  if (head === undefined || tail === undefined) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const all = [...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
  const out = new Uint8Array(16);
  all.forEach((g, i) => out.set([g >> 8, g & 0xff], 2 * i));
  return out;
}

/** RFC 5952 text: lowercase, no leading zeros, the longest run (≥ 2) of zero groups as `::`. */
function formatIPv6(bytes: Uint8Array): string {
  // RFC 5952 §5: IPv4-mapped addresses keep the dotted tail.
  if (bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) {
    return `::ffff:${bytes.subarray(12).join(".")}`;
  }
  const groups = Array.from({ length: 8 }, (_, i) => ((bytes[2 * i] as number) << 8) | (bytes[2 * i + 1] as number));
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) [best, bestLength] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = (gs: number[]) => gs.map((g) => g.toString(16)).join(":");
  if (best < 0) return hex(groups);
  return `${hex(groups.slice(0, best))}::${hex(groups.slice(best + bestLength))}`;
}

/** PROTOCOL §1 compact address: IPv4 → 4 + 2 bytes, IPv6 → 16 + 2 bytes, port big-endian. */
export function encodeCompactAddress(address: Address): Uint8Array {
  const { host, port } = address;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`Invalid port ${port}: expected 1 to 65535`);
  const ip = parseIPv4(host) ?? parseIPv6(host);
  if (ip === undefined) throw new RangeError(`Invalid IP address "${host}": expected IPv4 or IPv6 text`);
  return concatBytes(ip, Uint8Array.of(port >> 8, port & 0xff));
}

/** The inverse of {@link encodeCompactAddress}; undefined for a length other than 6 or 18, or port 0. */
export function decodeCompactAddress(bytes: Uint8Array): Address | undefined {
  abytes(bytes, undefined, "bytes");
  if (bytes.length !== 6 && bytes.length !== 18) return undefined;
  const ip = bytes.subarray(0, bytes.length - 2);
  const port = ((bytes[bytes.length - 2] as number) << 8) | (bytes[bytes.length - 1] as number);
  if (port === 0) return undefined;
  return { host: ip.length === 4 ? ip.join(".") : formatIPv6(ip), port };
}

// ---- The record plaintext (PROTOCOL §4) --------------------------------------------------------

/** A relay that forwards initiations to the announcer (PROTOCOL §9), and the tag it knows it by. */
export type RelayEntry = { address: Address; tag: Uint8Array };

/** PROTOCOL §9: tag = SHA-256("chat/1 relay" || secret)[0..16]; only the secret's holder can register it. */
export function relayTag(secret: Uint8Array): Uint8Array {
  return sha256(concatBytes(RELAY, abytes(secret, RELAY_SECRET_LENGTH, "secret"))).subarray(0, RELAY_TAG_LENGTH);
}

export type RecordContent = {
  /** Where the identity accepts sessions, preferred first; at most 8. */
  addresses: Address[];
  /** Relays that reach it behind NAT (key `r`, PROTOCOL §9); at most 4. Omitted when empty. */
  relays?: RelayEntry[];
  /** Unix seconds of the announcement. */
  t: number;
};

/** The bencoded plaintext dict `{a: [compact addresses], r: [address ‖ tag], t: seconds}` (`r` only if any). */
export function encodeRecordPlaintext(content: RecordContent): Uint8Array {
  const { addresses, relays = [], t } = content;
  if (!Array.isArray(addresses) || addresses.length > MAX_ADDRESSES) {
    throw new RangeError(`A record holds at most ${MAX_ADDRESSES} addresses, got ${String(addresses?.length)}`);
  }
  if (!Array.isArray(relays) || relays.length > MAX_RELAYS) {
    throw new RangeError(`A record holds at most ${MAX_RELAYS} relays, got ${String(relays?.length)}`);
  }
  if (!Number.isSafeInteger(t) || t < 0) throw new RangeError(`"t" expected a non-negative integer, got ${t}`);
  const a = addresses.map(encodeCompactAddress);
  if (!relays.length) return encode({ a, t });
  const r = relays.map((e) => concatBytes(encodeCompactAddress(e.address), abytes(e.tag, RELAY_TAG_LENGTH, "relay tag")));
  return encode({ a, r, t });
}

/** Parses a record plaintext; unknown keys are ignored (PROTOCOL §4). Undefined if malformed. */
export function decodeRecordPlaintext(bytes: Uint8Array): RecordContent | undefined {
  const dict = tryDecode(abytes(bytes, undefined, "bytes"));
  if (!isDict(dict)) return undefined;
  const { a, r = [], t } = dict;
  if (!Array.isArray(a) || a.length > MAX_ADDRESSES || typeof t !== "number" || t < 0) return undefined;
  if (!Array.isArray(r) || r.length > MAX_RELAYS) return undefined;
  const addresses: Address[] = [];
  for (const item of a) {
    const address = item instanceof Uint8Array ? decodeCompactAddress(item) : undefined;
    if (address === undefined) return undefined;
    addresses.push(address);
  }
  const relays: RelayEntry[] = [];
  for (const item of r) {
    if (!(item instanceof Uint8Array)) return undefined;
    const split = item.length - RELAY_TAG_LENGTH;
    const address = split > 0 ? decodeCompactAddress(item.subarray(0, split)) : undefined;
    if (address === undefined) return undefined;
    relays.push({ address, tag: item.slice(split) });
  }
  return relays.length ? { addresses, relays, t } : { addresses, t };
}

// ---- Sealing and opening (PROTOCOL §4) ---------------------------------------------------------

/** K = SHA-256("chat/1 record" || A || p8): known to whoever knows A, to nobody who knows only A'. */
export function recordKey(publicKey: Uint8Array, p: number): Uint8Array {
  if (!Number.isSafeInteger(p) || p < 0) throw new RangeError(`"period" expected a non-negative integer, got ${p}`);
  return sha256(concatBytes(RECORD, abytes(publicKey, 32, "publicKey"), u64be(p)));
}

/** The DHT target of a record: SHA-1(A'), BEP 44 with no salt. */
export function recordTarget(blindedKey: Uint8Array): Uint8Array {
  return mutableTarget(blindedKey);
}

/** A BEP 44 mutable item as stored and served (salt: none). `v` is the raw byte string, not its bencoding. */
export type RecordItem = { k: Uint8Array; seq: number | bigint; v: Uint8Array; sig: Uint8Array };
/** A freshly sealed record: the item to `put`, and its target. */
export type SealedRecord = { k: Uint8Array; seq: number; v: Uint8Array; sig: Uint8Array; target: Uint8Array };

/**
 * Builds the contact record of `identity` for period p: signed by the blinded key, readable with
 * A. `seq` must exceed every seq published before under this A' (PROTOCOL §4 uses unix seconds).
 * `nonce` is for test vectors only; by default it is 12 fresh random bytes.
 */
export function sealRecord(identity: Identity, p: number, content: RecordContent, seq: number, nonce?: Uint8Array): SealedRecord {
  if (!Number.isSafeInteger(seq) || seq < 0) throw new RangeError(`"seq" expected a non-negative integer, got ${seq}`);
  const n = nonce === undefined ? randomBytes(NONCE_LENGTH) : abytes(nonce, NONCE_LENGTH, "nonce");
  const blinded = blindIdentity(identity, p);
  const key = recordKey(identity.publicKey, p);
  const plaintext = encodeRecordPlaintext(content);
  // RFC 8439 §2.8 AEAD, the blinded key as associated data binds the ciphertext to this A'.
  const v = concatBytes(n, chacha20poly1305(key, n, blinded.publicKey).encrypt(plaintext));
  wipe(key);
  if (bencodedLength(v) > MAX_VALUE_LENGTH) {
    throw new RangeError(`Record value of ${bencodedLength(v)} bytes exceeds the BEP 44 limit of ${MAX_VALUE_LENGTH}`);
  }
  const sig = signExpanded(blinded, bep44SignedBuffer({ seq, v: bencodeBytes(v) }));
  wipe(blinded.scalar, blinded.prefix);
  return { k: blinded.publicKey, seq, v, sig, target: recordTarget(blinded.publicKey) };
}

/** What a lookup for A in period p needs, computed once and reused for every response. */
export type RecordLookup = {
  publicKey: Uint8Array;
  period: number;
  /** A' = h·A. */
  blindedKey: Uint8Array;
  /** SHA-1(A'): the DHT target to `get`. */
  target: Uint8Array;
  /** The record's AEAD key K. */
  key: Uint8Array;
};

export function recordLookup(publicKey: Uint8Array, p: number): RecordLookup {
  const blindedKey = blindPublicKey(publicKey, p);
  return { publicKey, period: p, blindedKey, target: recordTarget(blindedKey), key: recordKey(publicKey, p) };
}

/** Why a response was dropped (PROTOCOL §4: dropped silently and counted, never returned). */
export type RecordRejection =
  | "wrong-key" // k is not A' for this A and period, so it does not hash to the target
  | "oversize" // bencode(v) is over 1000 bytes
  | "bad-signature" // sig does not verify under A'
  | "undecryptable" // v is too short or does not authenticate under K with aad A'
  | "malformed" // the plaintext is not a valid record dict
  | "stale" // t is older than now − 2·PERIOD
  | "future"; // t is later than now + 300 s

export type OpenedRecord = { ok: true; addresses: Address[]; relays: RelayEntry[]; t: number; seq: number | bigint };
export type OpenResult = OpenedRecord | { ok: false; reason: RecordRejection };

/**
 * Performs every acceptance check of PROTOCOL §4 on one BEP 44 response and returns the record's
 * content, or the reason it must be dropped. Never throws for a bad item (only for bad arguments).
 * Pass a {@link RecordLookup} to avoid recomputing A' for every response of one lookup, and
 * `signatureVerified` only when the caller has checked `sig` over the BEP 44 buffer under `k` by
 * the same rule (`verify`), as the DHT's get does before it hands an item on.
 */
export function openRecord(lookup: RecordLookup, item: RecordItem, nowSeconds: number, opts?: { signatureVerified?: boolean }): OpenResult;
export function openRecord(publicKey: Uint8Array, p: number, item: RecordItem, nowSeconds: number): OpenResult;
export function openRecord(
  a: RecordLookup | Uint8Array, b: RecordItem | number, c: number | RecordItem, d?: number | { signatureVerified?: boolean },
): OpenResult {
  const [lookup, item, now, opts] = a instanceof Uint8Array
    ? [recordLookup(a, b as number), c as RecordItem, d as number, undefined]
    : [a, b as RecordItem, c as number, d as { signatureVerified?: boolean } | undefined];
  if (!Number.isFinite(now)) throw new RangeError(`"nowSeconds" expected a finite number, got ${now}`);
  const { k, seq, v, sig } = item;
  if (!(k instanceof Uint8Array) || !equalBytes(k, lookup.blindedKey)) return { ok: false, reason: "wrong-key" };
  if (!(v instanceof Uint8Array) || bencodedLength(v) > MAX_VALUE_LENGTH) return { ok: false, reason: "oversize" };
  if (!(sig instanceof Uint8Array) || (typeof seq !== "number" && typeof seq !== "bigint")) return { ok: false, reason: "bad-signature" };
  if (typeof seq === "number" && !Number.isSafeInteger(seq)) return { ok: false, reason: "bad-signature" };
  if (!opts?.signatureVerified && !verify(sig, bep44SignedBuffer({ seq, v: bencodeBytes(v) }), k)) {
    return { ok: false, reason: "bad-signature" };
  }
  if (v.length < NONCE_LENGTH + TAG_LENGTH) return { ok: false, reason: "undecryptable" };
  let plaintext: Uint8Array;
  try {
    const nonce = v.subarray(0, NONCE_LENGTH);
    plaintext = chacha20poly1305(lookup.key, nonce, k).decrypt(v.subarray(NONCE_LENGTH));
  } catch {
    return { ok: false, reason: "undecryptable" };
  }
  const content = decodeRecordPlaintext(plaintext);
  if (content === undefined) return { ok: false, reason: "malformed" };
  if (content.t < now - MAX_RECORD_AGE) return { ok: false, reason: "stale" };
  if (content.t > now + MAX_RECORD_SKEW) return { ok: false, reason: "future" };
  return { ok: true, addresses: content.addresses, relays: content.relays ?? [], t: content.t, seq };
}
