// Byte helpers of the session layer.

/** Lowercase hex: the key of a public key or message id in a Map. */
export function toHex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
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
