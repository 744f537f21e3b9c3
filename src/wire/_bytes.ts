// Byte helpers of the session layer.

const HEX_DIGITS = Uint8Array.from("0123456789abcdef", (c) => c.charCodeAt(0));

/** Lowercase hex: the key of a public key in a Map. A flat string (looked up per packet). */
export function toHex(bytes: Uint8Array): string {
  const out = new Uint8Array(bytes.length * 2);
  for (let i = 0; i < bytes.length; i++) {
    out[2 * i] = HEX_DIGITS[bytes[i]! >> 4]!;
    out[2 * i + 1] = HEX_DIGITS[bytes[i]! & 15]!;
  }
  return String.fromCharCode.apply(null, out as unknown as number[]);
}

/**
 * The Map key of a message id: its 16 bytes as a flat latin1 string. A delivered id is remembered
 * for tens of seconds, and a hex key built by concatenation stayed a rope of ~400 bytes; this
 * one costs ~60 bytes with its Map entry (measured on Node 20).
 */
export function idKey(id: Uint8Array): string {
  return String.fromCharCode.apply(null, id as unknown as number[]);
}

/** Equality of public values (keys, ids); not constant-time, so never for secrets. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** TypeError for a wrong type, RangeError for a wrong length (noble's `abytes`). */
export function abytes(value: unknown, length: number, title: string): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`"${title}" expected Uint8Array, got type=${typeof value}`);
  if (value.length !== length) throw new RangeError(`"${title}" expected ${length} bytes, got ${value.length}`);
  return value;
}
