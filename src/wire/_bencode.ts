// The bencode subset of session frames and message 1 payloads (BEP 3): one flat dictionary of
// byte strings and integers. Input comes from the network, so decoding accepts exactly the
// canonical encoding and nothing else: keys sorted by raw bytes and unique, no leading zeros,
// no "-0", safe integers only, no nesting, nothing after the end. Anything else is `null`.

/** A value in a flat dictionary. */
export type BValue = Uint8Array | number;

const D = 0x64; // 'd'
const E = 0x65; // 'e'
const I = 0x69; // 'i'
const COLON = 0x3a;
const MINUS = 0x2d;
const ZERO = 0x30;
const NINE = 0x39;

/** Canonical bencode of a flat dictionary. Keys are ASCII; values are bytes or safe integers. */
export function encodeDict(dict: Readonly<Record<string, BValue>>): Uint8Array {
  const keys = Object.keys(dict).sort();
  const parts: (string | Uint8Array)[] = ["d"];
  for (const key of keys) {
    const value = dict[key] as BValue;
    parts.push(`${key.length}:${key}`);
    if (typeof value === "number") {
      if (!Number.isSafeInteger(value)) throw new RangeError(`"${key}" expected a safe integer, got ${value}`);
      parts.push(`i${value}e`);
    } else {
      parts.push(`${value.length}:`, value);
    }
  }
  parts.push("e");
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    if (typeof p === "string") {
      for (let k = 0; k < p.length; k++) out[at++] = p.charCodeAt(k);
    } else {
      out.set(p, at);
      at += p.length;
    }
  }
  return out;
}

/**
 * Decodes a flat dictionary of at most `maxKeys` entries. Keys come back as latin1 strings (one
 * char per byte, so string order is byte order); byte values are views into `buf`.
 */
export function decodeDict(buf: Uint8Array, maxKeys: number): Map<string, BValue> | null {
  if (buf.length < 2 || buf[0] !== D) return null;
  const out = new Map<string, BValue>();
  let at = 1;
  let previous: string | undefined;
  while (at < buf.length && buf[at] !== E) {
    if (out.size === maxKeys) return null;
    const key = readBytes(buf, at);
    if (!key) return null;
    at = key.end;
    const name = latin1(key.value);
    if (previous !== undefined && name <= previous) return null; // BEP 3: sorted, hence unique
    previous = name;
    const value = buf[at] === I ? readInt(buf, at) : readBytes(buf, at);
    if (!value) return null;
    out.set(name, value.value);
    at = value.end;
  }
  return at === buf.length - 1 ? out : null;
}

/** `<length>:<bytes>` at `at`; the length is canonical and fits the buffer. */
function readBytes(buf: Uint8Array, at: number): { value: Uint8Array; end: number } | null {
  const digits = readDigits(buf, at, COLON);
  if (!digits) return null;
  const start = digits.end + 1;
  const end = start + digits.value;
  if (end > buf.length) return null;
  return { value: buf.subarray(start, end), end };
}

/** `i<integer>e` at `at`: canonical and a safe integer. */
function readInt(buf: Uint8Array, at: number): { value: number; end: number } | null {
  const negative = buf[at + 1] === MINUS;
  const digits = readDigits(buf, at + (negative ? 2 : 1), E);
  if (!digits || (negative && digits.value === 0)) return null; // "i-0e" is not canonical
  return { value: negative ? -digits.value : digits.value, end: digits.end + 1 };
}

/** Decimal digits from `at` up to `stop` (exclusive): no leading zero, at most 16 digits, safe. */
function readDigits(buf: Uint8Array, at: number, stop: number): { value: number; end: number } | null {
  let value = 0;
  let end = at;
  for (; end < buf.length && buf[end] !== stop; end++) {
    const c = buf[end] as number;
    if (c < ZERO || c > NINE || end - at === 16) return null;
    if (end > at && value === 0) return null; // leading zero
    value = value * 10 + (c - ZERO);
  }
  if (end === at || end === buf.length || !Number.isSafeInteger(value)) return null;
  return { value, end };
}

function latin1(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}
