// Bencode (BEP 3): a strict decoder for bytes from the network and a small canonical encoder,
// shared by the DHT (KRPC), the contact record plaintext and session frames.
//
// The decoder accepts exactly one canonical encoding of each value, so that
// encode(decode(x)) is byte-for-byte x (BEP 44 signatures cover re-encoded values):
// integers without leading zeros or "-0" and within int64, string lengths that fit,
// dict keys unique and sorted by raw bytes, nothing after the value, bounded depth.
// Dicts are null-prototype objects keyed by the latin1 form of the raw key bytes.

/** Default bounds of `decode`: the largest UDP datagram, and a nesting depth no protocol of ours needs. */
const MAX_SIZE = 65_535;
const MAX_DEPTH = 32;

export type BValue = Uint8Array | number | bigint | BValue[] | BDict;
export interface BDict {
  [key: string]: BValue | undefined;
}
/**
 * What `encode` takes: decoded values plus JS strings (UTF-8), undefined dict entries (skipped),
 * and values already bencoded (copied as they are).
 */
export type BInput = BValue | string | Bencoded | BInput[] | { [key: string]: BInput | undefined };

/** A value kept in its bencoding (e.g. a stored BEP 44 item), spliced into a message by `encode`. */
export class Bencoded {
  readonly bytes: Uint8Array;
  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
  }
}

export class BencodeError extends Error {
  override readonly name = "BencodeError";
}

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

const C_0 = 0x30, C_9 = 0x39, C_COLON = 0x3a, C_MINUS = 0x2d;
const C_D = 0x64, C_E = 0x65, C_I = 0x69, C_L = 0x6c;

export interface DecodeLimits {
  /** Largest input accepted, in bytes. */
  maxSize?: number;
  /** Deepest nesting of lists and dicts. */
  maxDepth?: number;
  /**
   * Dict keys below the top level whose values are checked as strictly as the rest but not built:
   * the entry holds the value's own bencoding (a view of the input). A BEP 44 value of 500 empty
   * strings is then one object, not 500, and its bytes are what a storing node keeps.
   */
  rawKeys?: ReadonlySet<string>;
}

/** Decodes exactly one canonical bencoded value filling all of `buf`; throws BencodeError otherwise. */
export function decode(buf: Uint8Array, limits: DecodeLimits = {}): BValue {
  if (buf.length > (limits.maxSize ?? MAX_SIZE)) throw new BencodeError("Input too large");
  const d = new Decoder(buf, limits.maxDepth ?? MAX_DEPTH, limits.rawKeys ?? null);
  const value = d.value(0);
  if (d.pos !== buf.length) throw new BencodeError(`Trailing bytes at ${d.pos}`);
  return value;
}

/** `decode` for untrusted input: null instead of an exception. */
export function tryDecode(buf: Uint8Array, limits?: DecodeLimits): BValue | null {
  try {
    return decode(buf, limits);
  } catch {
    return null;
  }
}

class Decoder {
  pos = 0;
  readonly buf: Uint8Array;
  readonly maxDepth: number;
  readonly rawKeys: ReadonlySet<string> | null;

  constructor(buf: Uint8Array, maxDepth: number, rawKeys: ReadonlySet<string> | null) {
    this.buf = buf;
    this.maxDepth = maxDepth;
    this.rawKeys = rawKeys;
  }

  /** Checks one value by the same rules as `value` without building it (the checks share code). */
  skip(depth: number): void {
    const c = this.buf[this.pos];
    if (c === C_I) {
      this.int();
      return;
    }
    if (c === C_L || c === C_D) {
      if (depth >= this.maxDepth) throw new BencodeError("Nesting too deep");
      this.pos++;
      let prev: string | null = null;
      while (this.buf[this.pos] !== C_E) {
        if (c === C_D) prev = this.key(prev);
        this.skip(depth + 1);
      }
      this.pos++;
      return;
    }
    if (c !== undefined && c >= C_0 && c <= C_9) {
      this.pos = this.span();
      return;
    }
    throw new BencodeError(c === undefined ? "Unexpected end" : `Unexpected byte 0x${c.toString(16)} at ${this.pos}`);
  }

  /** Reads a dict key, which must sort after `prev` (BEP 3: raw bytes; latin1 strings compare the same way). */
  key(prev: string | null): string {
    const c = this.buf[this.pos];
    if (c === undefined || c < C_0 || c > C_9) throw new BencodeError(`Dict key must be a string at ${this.pos}`);
    const end = this.span();
    const key = latin1(this.buf, this.pos, end);
    this.pos = end;
    if (prev !== null && key <= prev) throw new BencodeError(`Dict keys unsorted or repeated at "${key}"`);
    return key;
  }

  value(depth: number): BValue {
    const c = this.buf[this.pos];
    if (c === C_I) return this.int();
    if (c === C_L || c === C_D) {
      if (depth >= this.maxDepth) throw new BencodeError("Nesting too deep");
      return c === C_L ? this.list(depth + 1) : this.dict(depth + 1);
    }
    if (c !== undefined && c >= C_0 && c <= C_9) return this.bytes();
    throw new BencodeError(c === undefined ? "Unexpected end" : `Unexpected byte 0x${c.toString(16)} at ${this.pos}`);
  }

  int(): number | bigint {
    const { buf } = this;
    const start = ++this.pos;
    if (buf[this.pos] === C_MINUS) this.pos++;
    const digits = this.pos;
    while (this.pos < buf.length && buf[this.pos]! >= C_0 && buf[this.pos]! <= C_9) this.pos++;
    const n = this.pos - digits;
    if (buf[this.pos] !== C_E) throw new BencodeError(`Bad integer at ${start}`);
    if (n === 0 || n > 19) throw new BencodeError(`Bad integer length at ${start}`);
    if (buf[digits] === C_0 && (n > 1 || digits > start)) throw new BencodeError(`Non-canonical integer at ${start}`);
    this.pos++;
    if (n <= 15) {
      let v = 0;
      for (let i = digits; i < digits + n; i++) v = v * 10 + (buf[i]! - C_0);
      return digits > start ? -v : v;
    }
    const big = BigInt(latin1(buf, start, digits + n));
    if (big < INT64_MIN || big > INT64_MAX) throw new BencodeError(`Integer out of int64 range at ${start}`);
    return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
  }

  bytes(): Uint8Array {
    const end = this.span();
    const out = this.buf.subarray(this.pos, end);
    this.pos = end;
    return out;
  }

  /** Reads a `len:` prefix and returns where the string ends. */
  span(): number {
    const { buf } = this;
    const start = this.pos;
    let len = 0;
    while (this.pos < buf.length && buf[this.pos]! >= C_0 && buf[this.pos]! <= C_9) {
      len = len * 10 + (buf[this.pos++]! - C_0);
      if (len > buf.length) throw new BencodeError(`String length exceeds input at ${start}`);
    }
    if (buf[this.pos] !== C_COLON || this.pos === start) throw new BencodeError(`Bad string length at ${start}`);
    if (buf[start] === C_0 && this.pos - start > 1) throw new BencodeError(`Non-canonical string length at ${start}`);
    this.pos++;
    const end = this.pos + len;
    if (end > buf.length) throw new BencodeError(`String length exceeds input at ${start}`);
    return end;
  }

  list(depth: number): BValue[] {
    this.pos++;
    const out: BValue[] = [];
    while (this.buf[this.pos] !== C_E) out.push(this.value(depth));
    this.pos++;
    return out;
  }

  dict(depth: number): BDict {
    this.pos++;
    const out: BDict = Object.create(null);
    let prev: string | null = null;
    while (this.buf[this.pos] !== C_E) {
      const key = (prev = this.key(prev));
      if (depth >= 2 && this.rawKeys?.has(key)) {
        const start = this.pos;
        this.skip(depth);
        out[key] = this.buf.subarray(start, this.pos);
      } else {
        out[key] = this.value(depth);
      }
    }
    this.pos++;
    return out;
  }
}

function latin1(buf: Uint8Array, start: number, end: number): string {
  let s = "";
  for (let i = start; i < end; i++) s += String.fromCharCode(buf[i]!);
  return s;
}

const utf8 = new TextEncoder();

/** Encodes a value canonically: dict keys (latin1 strings) sorted, integers in base 10. */
export function encode(value: BInput): Uint8Array {
  const w = new Writer();
  w.value(value);
  return w.buf.subarray(0, w.pos);
}

class Writer {
  buf = new Uint8Array(256);
  pos = 0;

  reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  byte(b: number): void {
    this.reserve(1);
    this.buf[this.pos++] = b;
  }

  ascii(s: string): void {
    this.reserve(s.length);
    for (let i = 0; i < s.length; i++) this.buf[this.pos++] = s.charCodeAt(i);
  }

  raw(bytes: Uint8Array): void {
    this.ascii(`${bytes.length}:`);
    this.reserve(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  value(v: BInput): void {
    if (v instanceof Uint8Array) return this.raw(v);
    if (v instanceof Bencoded) {
      this.reserve(v.bytes.length);
      this.buf.set(v.bytes, this.pos);
      this.pos += v.bytes.length;
      return;
    }
    if (typeof v === "string") return this.raw(utf8.encode(v));
    if (typeof v === "number") {
      if (!Number.isSafeInteger(v)) throw new TypeError(`Cannot bencode ${v}: not a safe integer`);
      return this.ascii(`i${v}e`);
    }
    if (typeof v === "bigint") return this.ascii(`i${v}e`);
    if (Array.isArray(v)) {
      this.byte(C_L);
      for (const item of v) this.value(item);
      return this.byte(C_E);
    }
    if (typeof v !== "object" || v === null) throw new TypeError(`Cannot bencode a ${typeof v}`);
    this.byte(C_D);
    for (const key of Object.keys(v).sort()) {
      const item = v[key];
      if (item === undefined) continue;
      this.ascii(`${key.length}:`);
      for (let i = 0; i < key.length; i++) {
        if (key.charCodeAt(i) > 0xff) throw new TypeError(`Cannot bencode key "${key}": not latin1`);
      }
      this.ascii(key);
      this.value(item);
    }
    this.byte(C_E);
  }
}

/** Narrowing helpers for decoded values. */
export const isBytes = (v: unknown): v is Uint8Array => v instanceof Uint8Array;
export const isDict = (v: unknown): v is BDict =>
  typeof v === "object" && v !== null && !(v instanceof Uint8Array) && !Array.isArray(v);
export const isInt = (v: unknown): v is number | bigint => typeof v === "number" || typeof v === "bigint";
