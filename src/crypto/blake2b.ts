/**
 * HMAC-BLAKE2b (RFC 2104 over BLAKE2b-512), the HMAC of Noise's HKDF (§4.3): node:crypto's where the
 * runtime has it and gives RFC 7693's answer, @noble's otherwise. A handshake computes fifteen a
 * side; node:crypto takes 4–7 µs each, noble 16.
 * @module
 */
import { blake2b } from "@noble/hashes/blake2.js";
import { hmac } from "@noble/hashes/hmac.js";
import { concatBytes, equalBytes } from "./_utils.ts";
import { hexToBytes as hex } from "@noble/hashes/utils.js";
import { nodeCrypto } from "./_native.ts";

/** HMAC-BLAKE2b of `key` over the concatenation of `parts`: 64 bytes. */
export type HmacBlake2b = (key: Uint8Array, ...parts: Uint8Array[]) => Uint8Array;

export const _nobleHmacBlake2b: HmacBlake2b = (key, ...parts) => hmac(blake2b, key, parts.length === 1 ? parts[0]! : concatBytes(...parts));

function loadNative(): HmacBlake2b | undefined {
  const native = nodeCrypto();
  if (typeof native?.createHmac !== "function") return undefined;
  const fn: HmacBlake2b = (key, ...parts) => {
    const h = native.createHmac("blake2b512", key);
    for (const part of parts) h.update(part);
    const out = h.digest();
    const copy = Uint8Array.from(out); // outputs are keys: ours to wipe, not a pooled Buffer's
    out.fill(0);
    return copy;
  };
  try {
    // RFC 7693 Appendix A's input ("abc"), keyed as an HMAC: checked against noble's answer.
    const key = hex("000102030405060708090a0b0c0d0e0f"), abc = Uint8Array.of(0x61, 0x62, 0x63);
    return equalBytes(fn(key, abc), _nobleHmacBlake2b(key, abc)) ? fn : undefined;
  } catch {
    return undefined;
  }
}

/** node:crypto's HMAC-BLAKE2b, or undefined in a runtime without it. */
export const _nativeHmacBlake2b: HmacBlake2b | undefined = loadNative();

export const hmacBlake2b: HmacBlake2b = _nativeHmacBlake2b ?? _nobleHmacBlake2b;
