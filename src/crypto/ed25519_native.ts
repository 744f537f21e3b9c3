/**
 * Strict Ed25519 verification (blind.ts `verify`, the one rule) answered synchronously by
 * node:crypto where the runtime hands it out (`process.getBuiltinModule`: Node ≥ 20.16, Deno 2;
 * nothing is imported, so this module still runs anywhere). A DHT lookup checks each record the
 * moment it arrives: measured 0.12 ms a check on Node and 0.05 ms on Deno, where WebCrypto's
 * promise takes 0.25 ms and a trip through the thread pool, and @noble 1.3 ms or more.
 * @module
 */
import { _strictEncodings, verify } from "./blind.ts";
import { abytes } from "./_utils.ts";
import { hexToBytes as hex } from "@noble/hashes/utils.js";
import { b64url, type NativeKey, type NodeCrypto, nodeCrypto } from "./_native.ts";

/** RFC 8032 §7.1 TEST 1 (empty message): a runtime that does not accept it is not used. */
const RFC8032_TEST1 = {
  key: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
  sig: "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
};

let native: NodeCrypto | null | undefined;

/**
 * Imported keys by their JWK form, the oldest dropped past IMPORTED_MAX. A key recurs: lookups of
 * one contact, a record re-put to a storing node; its import took ~80 µs inside a DHT lookup on
 * Node (6–9 µs in a warm loop), more than half a signature check. Public keys: nothing to wipe.
 */
const imported = new Map<string, NativeKey>();
const IMPORTED_MAX = 256;

function importKey(crypto: NodeCrypto, publicKey: Uint8Array): NativeKey {
  const x = b64url(publicKey);
  let key = imported.get(x);
  if (!key) {
    // The JWK form imports fastest on Node (DER goes through OpenSSL's slower decoder lookup).
    key = crypto.createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x }, format: "jwk" });
    if (imported.size >= IMPORTED_MAX) imported.delete(imported.keys().next().value!);
    imported.set(x, key);
  }
  return key;
}

/** The key object verifySync hands the platform for `publicKey` (tests check the cache by it). */
export function _importedKey(publicKey: Uint8Array): NativeKey | undefined {
  native ??= load();
  return native ? importKey(native, publicKey) : undefined;
}

/** The platform's answer, or undefined when it cannot give one (no node:crypto, a key it refuses). */
function nodeVerify(crypto: NodeCrypto, signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean | undefined {
  try {
    return crypto.verify(null, message, importKey(crypto, publicKey), signature);
  } catch {
    return undefined;
  }
}

function load(): NodeCrypto | null {
  try {
    const crypto = nodeCrypto();
    if (typeof crypto?.verify !== "function" || typeof crypto.createPublicKey !== "function") return null;
    const { key, sig } = RFC8032_TEST1;
    return nodeVerify(crypto, hex(sig), new Uint8Array(0), hex(key)) === true ? crypto : null;
  } catch {
    return null;
  }
}

/** True when verifySync uses the platform (tests assert it, so the fast path is what they test). */
export function _hasNativeEd25519(): boolean {
  return (native ??= load()) !== null;
}

/**
 * {@link verify}'s answer for every input, synchronously and several times faster where the
 * runtime has node:crypto. The byte-level prechecks reject what a platform verifier may accept
 * (non-canonical or small-order R and A, S ≥ L); with those excluded, the platform accepting means
 * exactly what verify() accepts. A platform "no" (it may use the cofactorless equation) goes to
 * @noble, which decides every "no", so the two never differ.
 */
export function verifySync(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  abytes(signature, undefined, "signature");
  abytes(message, undefined, "message");
  abytes(publicKey, undefined, "publicKey");
  if (!_strictEncodings(signature, publicKey)) return false;
  native ??= load();
  if (native && nodeVerify(native, signature, message, publicKey) === true) return true;
  return verify(signature, message, publicKey);
}
