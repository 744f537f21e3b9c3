/**
 * Time periods and key blinding (PROTOCOL §3), after Tor rend-spec-v3 appendix A.2: anyone who
 * knows A derives the period's blinded key A' = h·A; only the owner can sign under it, with the
 * blinded expanded key (a' = h·a mod L, prefix'). Also the RFC 8032 signer for expanded keys
 * (which the BEP 44 vectors use too) and a strict Ed25519 verifier.
 * @module
 */
import { ed25519 } from "@noble/curves/ed25519.js";
import { sha512 } from "@noble/hashes/sha2.js";
import { abytes, ascii, bytesToNumberLE, concatBytes, equalBytes, numberToBytesLE, u64be } from "./_utils.ts";
import { nativeBlind } from "./blind_native.ts";
import { _decodePublicKey, type Identity } from "./identity.ts";
import { _webcryptoVerify } from "./_webcrypto.ts";

/** PROTOCOL §3: one time period is an hour. */
export const PERIOD = 3600;
/** PROTOCOL §1: L, the order of the Ed25519 base point. */
const L = ed25519.Point.Fn.ORDER;
const BASE = ed25519.Point.BASE;
const BLIND = ascii("chat/1 blind");
const PREFIX = ascii("chat/1 prefix");

/** An RFC 8032 expanded private key (a, prefix) with its public key A = a·B. */
export type ExpandedKey = {
  /** a, 32 bytes little-endian; need not be reduced mod L (BEP 44 keys are clamped, not reduced). */
  scalar: Uint8Array;
  /** The 32-byte nonce key of RFC 8032 §5.1.6. */
  prefix: Uint8Array;
  publicKey: Uint8Array;
};

/** PROTOCOL §3: p = floor(unix_seconds / PERIOD). */
export function periodOf(unixSeconds: number): number {
  if (!Number.isFinite(unixSeconds) || unixSeconds < 0) {
    throw new RangeError(`"unixSeconds" expected a finite non-negative number, got ${unixSeconds}`);
  }
  return Math.floor(unixSeconds / PERIOD);
}

function _period(p: number): Uint8Array {
  if (!Number.isSafeInteger(p) || p < 0) throw new RangeError(`"period" expected a non-negative integer, got ${p}`);
  return u64be(p);
}

const modL = (n: bigint) => n % L;

/** h = int_le(SHA-512("chat/1 blind" || A || p8)) mod L. */
function _blindScalar(publicKey: Uint8Array, p: number): bigint {
  abytes(publicKey, 32, "publicKey");
  return modL(bytesToNumberLE(sha512(concatBytes(BLIND, publicKey, _period(p)))));
}

/** PROTOCOL §3: the blinding factor h of A for period p, as 32 little-endian bytes. */
export function blindFactor(publicKey: Uint8Array, p: number): Uint8Array {
  return numberToBytesLE(_blindScalar(publicKey, p), 32);
}

/**
 * PROTOCOL §3: A' = h·A, computable by anyone who knows A. Throws RangeError if A is not a
 * valid public key (see `isValidPublicKey`).
 */
export function blindPublicKey(publicKey: Uint8Array, p: number): Uint8Array {
  const h = _blindScalar(publicKey, p);
  const point = _decodePublicKey(publicKey);
  if (point === undefined) throw new RangeError(`"publicKey" is not a valid Ed25519 public key`);
  // Both A and h are public, so the variable-time multiplication leaks nothing.
  return nativeBlind(point, h) ?? point.multiplyUnsafe(h).toBytes();
}

/** PROTOCOL §3: the owner's blinded expanded key (a' = h·a mod L, prefix', A' = a'·B) for period p. */
export function blindIdentity(identity: Identity, p: number): ExpandedKey {
  const h = _blindScalar(identity.publicKey, p);
  const a = modL(h * bytesToNumberLE(abytes(identity.scalar, 32, "identity.scalar")));
  const prefix = sha512(concatBytes(PREFIX, abytes(identity.prefix, 32, "identity.prefix"), _period(p))).slice(0, 32);
  return { scalar: numberToBytesLE(a, 32), prefix, publicKey: BASE.multiply(a).toBytes() };
}

/**
 * RFC 8032 §5.1.6 signing with an expanded key: r = SHA-512(prefix || M) mod L, R = r·B,
 * k = SHA-512(R || A || M) mod L, S = (r + k·a) mod L; the signature is R || le32(S).
 */
export function signExpanded(key: ExpandedKey, message: Uint8Array): Uint8Array {
  const a = modL(bytesToNumberLE(abytes(key.scalar, 32, "key.scalar")));
  abytes(key.prefix, 32, "key.prefix");
  abytes(key.publicKey, 32, "key.publicKey");
  abytes(message, undefined, "message");
  const r = modL(bytesToNumberLE(sha512(concatBytes(key.prefix, message))));
  const R = BASE.multiply(r).toBytes();
  const k = modL(bytesToNumberLE(sha512(concatBytes(R, key.publicKey, message))));
  return concatBytes(R, numberToBytesLE(modL(r + k * a), 32));
}

/**
 * The 8 points of small order, k·T for a point T of order 8 (from libsodium's blocklist, "Taming
 * the many EdDSAs" §3), each canonical and with the sign bit flipped: for (0, ±1) that is the
 * non-canonical x = 0 spelling, for the others the encoding of the negated point.
 */
const SMALL_ORDER = (() => {
  const T = ed25519.Point.fromHex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a");
  const canonical = Array.from({ length: 8 }, (_, k) => T.multiplyUnsafe(BigInt(k)).toBytes());
  return canonical.flatMap((e) => [e, e.map((b, i) => (i === 31 ? b ^ 0x80 : b))]);
})();

/** True if 32 bytes spell a small-order point (canonically, or with x = 0 and the sign bit set). */
export function _isSmallOrderEncoding(bytes: Uint8Array): boolean {
  return SMALL_ORDER.some((e) => equalBytes(e, bytes));
}

const P = ed25519.Point.Fp.ORDER;
const Y_MASK = (1n << 255n) - 1n;

/** RFC 8032 §5.1.3 decoding, step 1: the y coordinate must be below p. */
function _isCanonicalY(bytes: Uint8Array): boolean {
  return (bytesToNumberLE(bytes) & Y_MASK) < P;
}

/**
 * Strict Ed25519 verification (RFC 8032 §5.1.7 with the cofactored equation): rejects S ≥ L,
 * non-canonical encodings of R and A, and small-order A and R (as libsodium does). Returns false
 * for anything that is not a valid signature, wrong lengths included.
 */
export function verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  abytes(signature, undefined, "signature");
  abytes(message, undefined, "message");
  abytes(publicKey, undefined, "publicKey");
  if (signature.length !== 64 || publicKey.length !== 32) return false;
  // noble's zip215: false is RFC 8032 / FIPS 186-5 strict, and rejects small-order A; R we check here.
  if (_isSmallOrderEncoding(signature.subarray(0, 32))) return false;
  return ed25519.verify(signature, message, publicKey, { zip215: false });
}

/**
 * Checks on bytes alone everything verify() rejects that a platform verifier may accept (OpenSSL
 * accepts small-order and non-canonical A, and small-order R; older ones skipped S < L): lengths,
 * y < p for R and A, neither of small order, S < L.
 */
export function _strictEncodings(signature: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== 64 || publicKey.length !== 32) return false;
  const R = signature.subarray(0, 32);
  if (!_isCanonicalY(R) || !_isCanonicalY(publicKey)) return false;
  if (_isSmallOrderEncoding(R) || _isSmallOrderEncoding(publicKey)) return false;
  return bytesToNumberLE(signature.subarray(32)) < L;
}

/**
 * {@link verify} with the platform's Ed25519 (WebCrypto) where it has one: the same answer for
 * every input, several times faster. For bulk checks such as a DHT node's BEP 44 `put`s.
 */
export async function verifyAsync(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): Promise<boolean> {
  abytes(signature, undefined, "signature");
  abytes(message, undefined, "message");
  abytes(publicKey, undefined, "publicKey");
  if (!_strictEncodings(signature, publicKey)) return false;
  // The platform accepting means S·B = R + k·A (or its cofactored form): with A and R canonical and
  // not of small order, that is exactly what verify() accepts.
  if ((await _webcryptoVerify(signature, message, publicKey)) === true) return true;
  // A platform "no" may come from the cofactorless equation, which rejects some signatures (mixed-order
  // A or R) that the cofactored one accepts; noble settles it, so the answers never differ.
  return verify(signature, message, publicKey);
}
