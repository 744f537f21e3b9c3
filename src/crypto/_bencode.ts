// The little bencode (BEP 3) the record plaintext needs: byte strings, integers, lists and dicts.
// Decoding is strict, so one value has one encoding: no leading zeros, no "-0", dict keys in
// strictly ascending raw byte order, nothing after the value. The network-facing codec is src/dht's.

export type BValue = Uint8Array | number | BValue[] | Map<string, BValue>;

const MAX_DEPTH = 16;
const enc = new TextEncoder();

// Not TextDecoder("latin1"): WHATWG maps that label to windows-1252, which remaps 0x80–0x9f.
function latin1(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

/** Encodes a value; dict keys are byte strings given as latin1 text (one char per byte). */
export function _bencode(value: BValue): Uint8Array {
  const parts: Uint8Array[] = [];
  const put = (v: BValue): void => {
    if (v instanceof Uint8Array) {
      parts.push(enc.encode(`${v.length}:`), v);
    } else if (typeof v === "number") {
      if (!Number.isSafeInteger(v)) throw new RangeError(`Cannot bencode ${v}: not a safe integer`);
      parts.push(enc.encode(`i${v}e`));
    } else if (Array.isArray(v)) {
      parts.push(enc.encode("l"));
      v.forEach(put);
      parts.push(enc.encode("e"));
    } else {
      parts.push(enc.encode("d"));
      for (const key of [...v.keys()].sort(compareLatin1)) {
        put(Uint8Array.from(key, (c) => c.charCodeAt(0)));
        put(v.get(key) as BValue);
      }
      parts.push(enc.encode("e"));
    }
  };
  put(value);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) out.set(p, (offset += p.length) - p.length);
  return out;
}

// Latin1 keys sort by code unit exactly as their bytes sort.
const compareLatin1 = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Decodes exactly one value filling all of `bytes`; undefined if it is not strict bencode. */
export function _bdecode(bytes: Uint8Array): BValue | undefined {
  let i = 0;
  const digits = (end: number): number | undefined => {
    const start = i;
    if (bytes[i] === 0x2d) i++; // '-'
    const first = i;
    while (i < bytes.length && (bytes[i] as number) >= 0x30 && (bytes[i] as number) <= 0x39) i++;
    if (i === first || bytes[i] !== end) return undefined;
    if (bytes[first] === 0x30 && (i - first > 1 || first > start)) return undefined; // "01", "-0"
    const n = Number(latin1(bytes.subarray(start, i)));
    i++;
    return Number.isSafeInteger(n) ? n : undefined;
  };
  const value = (depth: number): BValue | undefined => {
    if (depth > MAX_DEPTH) return undefined;
    const c = bytes[i];
    if (c === 0x69) { // 'i'
      i++;
      return digits(0x65);
    }
    if (c === 0x6c) { // 'l'
      i++;
      const list: BValue[] = [];
      while (bytes[i] !== 0x65) {
        const v = i < bytes.length ? value(depth + 1) : undefined;
        if (v === undefined) return undefined;
        list.push(v);
      }
      i++;
      return list;
    }
    if (c === 0x64) { // 'd'
      i++;
      const dict = new Map<string, BValue>();
      let last: string | undefined;
      while (bytes[i] !== 0x65) {
        const key = i < bytes.length ? string() : undefined;
        if (key === undefined) return undefined;
        const k = latin1(key);
        if (last !== undefined && compareLatin1(last, k) >= 0) return undefined; // BEP 3: sorted keys
        const v = value(depth + 1);
        if (v === undefined) return undefined;
        dict.set(k, v);
        last = k;
      }
      i++;
      return dict;
    }
    return string();
  };
  const string = (): Uint8Array | undefined => {
    if (bytes[i] === 0x2d) return undefined;
    const length = digits(0x3a); // ':'
    if (length === undefined || i + length > bytes.length) return undefined;
    return bytes.subarray(i, (i += length));
  };
  const result = value(0);
  return result !== undefined && i === bytes.length ? result : undefined;
}
