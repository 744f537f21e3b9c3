/**
 * Identities (PROTOCOL §2): an Ed25519 key pair from a 32-byte seed, which doubles as an X25519
 * key pair for Noise, and the text form of public keys (§1).
 * @module
 */
import { ed25519 } from "@noble/curves/ed25519.js";
import { sha512 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { ChatError } from "../errors.ts";
import { nodeCrypto } from "./_native.ts";
import { abytes, bytesToNumberLE, randomBytes, wipe } from "./_utils.ts";
import type { KeyPair } from "./x25519.ts";
import { decodeZBase32, encodeZBase32 } from "./zbase32.ts";

const SEED_LENGTH = 32;
const KEY_LENGTH = 32;

export type Identity = {
  /** The 32-byte secret seed (RFC 8032 private key). */
  seed: Uint8Array;
  /** A = a·B, the 32-byte Ed25519 public key: the identity itself. */
  publicKey: Uint8Array;
  /** a: SHA-512(seed)[0..32] clamped (RFC 8032 §5.1.5), little-endian, not reduced mod L. */
  scalar: Uint8Array;
  /** prefix: SHA-512(seed)[32..64], the nonce key of RFC 8032 §5.1.6. */
  prefix: Uint8Array;
  /** The X25519 form: secret a (libsodium `crypto_sign_ed25519_sk_to_curve25519`), public u = (1 + y)/(1 − y). */
  x25519: KeyPair;
};

/** PROTOCOL §2: the identity made from `seed` (copied, so the caller may wipe its own). */
export function identityFromSeed(seed: Uint8Array): Identity {
  abytes(seed, SEED_LENGTH, "seed");
  // RFC 8032 §5.1.5: SHA-512 of the seed; the first half clamped is a, the second the prefix.
  const hashed = sha512(seed);
  const head = hashed.slice(0, 32), prefix = hashed.slice(32);
  wipe(hashed);
  head[0]! &= 248;
  head[31]! &= 127;
  head[31]! |= 64;
  const publicKey = _nativePublicKey(seed) ?? ed25519.getPublicKey(seed);
  return {
    // new Uint8Array(x) copies; a Buffer's slice() would be a view of the caller's bytes.
    seed: new Uint8Array(seed),
    publicKey,
    scalar: head,
    prefix,
    // X25519 clamps its scalar, and `head` is already clamped, so X25519(a, 9) is a·B in Montgomery
    // form: mapped from A, it costs no scalar multiplication.
    x25519: { secretKey: head.slice(), publicKey: ed25519.utils.toMontgomery(publicKey) },
  };
}

/** RFC 8410 §7: the PKCS #8 DER of an Ed25519 private key is this prefix, then the 32-byte seed. */
const PKCS8_PREFIX = Uint8Array.of(0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20);
const SPKI_LENGTH = 44;

/**
 * a·B by node:crypto where the runtime has it (_native.ts), else undefined and @noble answers.
 * @noble's first base-point multiplication builds its tables: 25–45 ms of every command's cold
 * start, against ~1 ms here. Tested equal to @noble on random seeds.
 */
export function _nativePublicKey(seed: Uint8Array): Uint8Array | undefined {
  const crypto = nodeCrypto();
  if (crypto === undefined) return undefined;
  const der = new Uint8Array(PKCS8_PREFIX.length + SEED_LENGTH);
  der.set(PKCS8_PREFIX);
  der.set(seed, PKCS8_PREFIX.length);
  try {
    const spki = crypto.createPublicKey(crypto.createPrivateKey({ key: der, format: "der", type: "pkcs8" })).export({ format: "der", type: "spki" });
    return spki.length === SPKI_LENGTH ? Uint8Array.from(spki.subarray(SPKI_LENGTH - KEY_LENGTH)) : undefined;
  } catch {
    return undefined;
  } finally {
    wipe(der);
  }
}

/** A fresh identity from 32 random bytes. */
export function generateIdentity(): Identity {
  const seed = randomBytes(SEED_LENGTH);
  const identity = identityFromSeed(seed);
  wipe(seed);
  return identity;
}

/** Zeroes every secret of an identity; it is unusable afterwards. */
export function wipeIdentity(identity: Identity): void {
  wipe(identity.seed, identity.scalar, identity.prefix, identity.x25519.secretKey);
}

type Point = ReturnType<typeof ed25519.Point.fromBytes>;

const _validKeys = new Map<string, Point>();

/**
 * Decodes a public key as RFC 8032 §5.1.3 does, strictly: y < p, no x = 0 with the sign bit set
 * (non-canonical encodings), then rejects small-order points and points with a torsion component.
 * Every key made by `a·B` passes; anything else is not a key anyone could hold.
 */
export function _decodePublicKey(bytes: Uint8Array): Point | undefined {
  if (bytes.length !== KEY_LENGTH) return undefined;
  // The torsion check is a full scalar multiplication, and one key is decoded several times in a
  // row (parsePublicKey, then blinding for each period): remember the last few valid ones.
  const id = bytesToHex(bytes);
  const known = _validKeys.get(id);
  if (known) return known;
  let point: Point;
  try {
    point = ed25519.Point.fromBytes(bytes, false);
  } catch {
    return undefined;
  }
  if (point.isSmallOrder() || !point.isTorsionFree()) return undefined;
  if (_validKeys.size >= 64) _validKeys.delete(_validKeys.keys().next().value!);
  _validKeys.set(id, point);
  return point;
}
/** True if `bytes` is a canonical Ed25519 public key in the prime-order subgroup. */
export function isValidPublicKey(bytes: Uint8Array): boolean {
  abytes(bytes, undefined, "publicKey");
  return _decodePublicKey(bytes) !== undefined;
}

/** PROTOCOL §1: the 52-character z-base-32 text of a public key. */
export function formatPublicKey(publicKey: Uint8Array): string {
  return encodeZBase32(abytes(publicKey, KEY_LENGTH, "publicKey"));
}

const HEX_KEY = /^[0-9a-fA-F]{64}$/;

/**
 * PROTOCOL §1: a public key from its text, 52 z-base-32 characters (lowercase, zero padding bits)
 * or 64 hex characters. Anything else, and any key that is not a valid Ed25519 point in the
 * prime-order subgroup, is bad input (ChatError BAD_PUBLIC_KEY, exit 2).
 */
export function parsePublicKey(text: string): Uint8Array {
  if (typeof text !== "string") throw new TypeError(`"text" expected string, got type=${typeof text}`);
  const shown = text.length > 80 ? `${text.slice(0, 77)}...` : text;
  let bytes: Uint8Array | undefined;
  if (text.length === 52) bytes = decodeZBase32(text);
  else if (HEX_KEY.test(text)) bytes = Uint8Array.from(text.match(/../g) as string[], (h) => parseInt(h, 16));
  if (bytes === undefined) {
    throw ChatError.input(
      "BAD_PUBLIC_KEY",
      `Cannot parse public key "${shown}": expected 52 z-base-32 characters or 64 hex characters`,
      "A public key looks like the publicKey printed by `chat id`",
    );
  }
  if (_decodePublicKey(bytes) === undefined) {
    throw ChatError.input(
      "BAD_PUBLIC_KEY",
      `Cannot use public key "${shown}": it is not a valid Ed25519 public key`,
      "Check that the key was copied completely and unchanged",
    );
  }
  return bytes;
}

/**
 * PROTOCOL §2: the X25519 public key of an Ed25519 public key, u = (1 + y)/(1 − y)
 * (libsodium `crypto_sign_ed25519_pk_to_curve25519`). Throws RangeError for an invalid key.
 */
export function x25519FromEd25519Public(publicKey: Uint8Array): Uint8Array {
  abytes(publicKey, KEY_LENGTH, "publicKey");
  const id = bytesToHex(publicKey);
  let u = _montgomery.get(id);
  if (u === undefined) {
    const point = _decodePublicKey(publicKey);
    if (point === undefined) throw new RangeError(`"publicKey" is not a valid Ed25519 public key`);
    u = ed25519.utils.toMontgomery(publicKey); // an inversion: ~0.1 ms, and a sender asks per message
    if (_montgomery.size >= 64) _montgomery.delete(_montgomery.keys().next().value!);
    _montgomery.set(id, u);
  }
  return u.slice();
}

const _montgomery = new Map<string, Uint8Array>();
const P = ed25519.Point.Fp.ORDER;

/**
 * Whether `u` is the X25519 form of the Ed25519 key `edPublic`, u = (1 + y)/(1 − y), checked as
 * u·(1 − y) = 1 + y (mod p) on canonical encodings: no inversion, no point decoding. It does NOT
 * say that `edPublic` is a valid key; a caller for whom `u` is authenticated by a Diffie-Hellman
 * with its holder knows that u = a·9 on the curve, and then y is a point's (the one of ±A).
 */
export function isX25519FormOf(edPublic: Uint8Array, u: Uint8Array): boolean {
  if (edPublic.length !== KEY_LENGTH || u.length !== KEY_LENGTH || (u[31] as number) & 0x80) return false;
  const y = bytesToNumberLE(edPublic) & ((1n << 255n) - 1n); // the top bit is x's sign
  const un = bytesToNumberLE(u);
  if (y >= P || un >= P) return false;
  return (un * (P + 1n - y)) % P === (1n + y) % P;
}
