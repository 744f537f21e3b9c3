/**
 * z-base-32 (PROTOCOL §1; Zooko's human-oriented base-32, the text form Pkarr uses for keys).
 * Bits are taken most-significant first, 5 per character; the last character is padded with
 * zero bits. Decoding is strict: lowercase only, and nonzero padding bits are rejected, so every
 * byte string has exactly one text form.
 * @module
 */
import { abytes } from "./_utils.ts";

export const ZBASE32_ALPHABET = "ybndrfg8ejkmcpqxot1uwisza345h769";

const DECODE = new Int8Array(128).fill(-1);
for (const [i, ch] of [...ZBASE32_ALPHABET].entries()) DECODE[ch.charCodeAt(0)] = i;

/** Characters needed for `bytes` bytes: ceil(8·bytes / 5). */
export function zbase32Length(bytes: number): number {
  return Math.ceil((bytes * 8) / 5);
}

export function encodeZBase32(bytes: Uint8Array): string {
  abytes(bytes, undefined, "bytes");
  let out = "";
  let acc = 0;
  let bits = 0;
  for (const byte of bytes) {
    acc = ((acc << 8) | byte) & 0xfff; // at most 4 + 8 bits are pending
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += ZBASE32_ALPHABET[(acc >> bits) & 31];
    }
  }
  if (bits > 0) out += ZBASE32_ALPHABET[(acc << (5 - bits)) & 31];
  return out;
}

/**
 * Decodes z-base-32 text; returns undefined (never throws) for a bad character, a length that no
 * byte string encodes to, or nonzero padding bits. Callers turn that into their own error.
 */
export function decodeZBase32(text: string): Uint8Array | undefined {
  if (typeof text !== "string") throw new TypeError(`"text" expected string, got type=${typeof text}`);
  const length = Math.floor((text.length * 5) / 8);
  if (zbase32Length(length) !== text.length) return undefined;
  const out = new Uint8Array(length);
  let acc = 0;
  let bits = 0;
  let j = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    const value = code < 128 ? (DECODE[code] as number) : -1;
    if (value < 0) return undefined;
    acc = ((acc << 5) | value) & 0x1fff; // at most 7 + 5 bits are pending
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[j++] = (acc >> bits) & 0xff;
    }
  }
  // PROTOCOL §1: the leftover bits are zero padding. Anything else is a second spelling: reject.
  if ((acc & ((1 << bits) - 1)) !== 0) return undefined;
  return out;
}
