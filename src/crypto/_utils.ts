// Byte helpers shared by the crypto modules. Assertions come from noble, so every boundary
// fails the same way: TypeError for a wrong type, RangeError for a wrong length or value.
import { abytes, clean, concatBytes, randomBytes } from "@noble/hashes/utils.js";
import { equalBytes } from "@noble/ciphers/utils.js";

export { abytes, concatBytes, equalBytes, randomBytes };

/** Zeroes secret material in place. Call it as soon as a secret is no longer needed. */
export function wipe(...arrays: (Uint8Array | undefined)[]): void {
  clean(...arrays.filter((a): a is Uint8Array => a !== undefined));
}

const U64_MAX = (1n << 64n) - 1n;

/** A u64 counter given as number or bigint, checked to be an integer in [0, 2^64 − 1]. */
export function au64(n: bigint | number, title: string): bigint {
  if (typeof n === "number") {
    if (!Number.isSafeInteger(n)) throw new RangeError(`"${title}" expected a safe integer, got ${n}`);
    n = BigInt(n);
  } else if (typeof n !== "bigint") {
    throw new TypeError(`"${title}" expected bigint or number, got type=${typeof n}`);
  }
  if (n < 0n || n > U64_MAX) throw new RangeError(`"${title}" expected an integer in [0, 2^64 - 1], got ${n}`);
  return n;
}

/** u64be(n) of PROTOCOL §1. */
export function u64be(n: bigint | number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, au64(n, "n"), false);
  return out;
}

/** Little-endian bytes to bigint (scalars are little-endian, PROTOCOL §1). */
export function bytesToNumberLE(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i] as number);
  return n;
}

/** bigint to `length` little-endian bytes; the caller guarantees it fits. */
export function numberToBytesLE(n: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++, n >>= 8n) out[i] = Number(n & 0xffn);
  return out;
}

const encoder = new TextEncoder();
/** The ASCII domain-separation constants of PROTOCOL §§3–4 (no terminator). */
export function ascii(text: string): Uint8Array {
  return encoder.encode(text);
}
