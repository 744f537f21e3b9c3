// KRPC (BEP 5): message parsing with every field checked, message building, compact encodings.
// Parsing never throws: garbage is null, and a query that is broken but answerable is "bad"
// so that the node can answer it with error 203.

import { type BDict, type BInput, type BValue, encode, isBytes, isDict, tryDecode } from "../bencode.ts";
import { ADDRESS_LENGTH, CLIENT_VERSION, ID_LENGTH, NODE_LENGTH } from "./constants.ts";
import type { Address } from "./transport.ts";

export interface NodeInfo extends Address {
  id: Uint8Array;
}

export type Message =
  /** `ro`: the sender is a read-only node (BEP 43): answer it, never add it to a routing table. */
  | { y: "q"; t: Uint8Array; q: string; a: BDict; id: Uint8Array; ro: boolean; value: Uint8Array | undefined }
  | { y: "r"; t: Uint8Array; r: BDict; id: Uint8Array; ip: Address | null; value: Uint8Array | undefined }
  | { y: "e"; t: Uint8Array; code: number; message: string }
  /** A query we can still answer, with error 203: it has a transaction id but a broken body. */
  | { y: "bad"; t: Uint8Array; message: string };

const MAX_TID = 16;
const text = new TextDecoder();
/** BEP 44 `v` (in `a` or `r`) is checked but not built: see `value` below. */
const RAW = new Set(["v"]);

/**
 * Parses one datagram. Null for anything that cannot be answered or matched to a transaction.
 * A BEP 44 value (`a.v` of a put, `r.v` of a get reply) comes out of `a`/`r` as `value`: its exact
 * bencoding, a view of `buf` (what a signature covers and a node stores).
 */
export function parseMessage(buf: Uint8Array): Message | null {
  const m = tryDecode(buf, { rawKeys: RAW });
  if (!isDict(m)) return null;
  const t = m["t"];
  if (!isBytes(t) || t.length === 0 || t.length > MAX_TID) return null;
  const y = str(m["y"]);
  if (y === "q") {
    const q = str(m["q"]);
    const a = m["a"];
    if (q === null) return { y: "bad", t, message: "Missing q" };
    if (!isDict(a)) return { y: "bad", t, message: "Missing a" };
    const id = a["id"];
    if (!isId(id)) return { y: "bad", t, message: "Missing or bad a.id" };
    return { y, t, q, a, id, ro: m["ro"] === 1, value: takeValue(a) };
  }
  if (y === "r") {
    const r = m["r"];
    if (!isDict(r) || !isId(r["id"])) return null;
    const ip = m["ip"];
    return { y, t, r, id: r["id"], ip: isBytes(ip) && ip.length === ADDRESS_LENGTH ? decodeAddress(ip) : null, value: takeValue(r) };
  }
  if (y === "e") {
    const e = m["e"];
    const code = Array.isArray(e) ? e[0] : undefined;
    const msg = Array.isArray(e) ? e[1] : undefined;
    return { y, t, code: typeof code === "number" ? code : 0, message: isBytes(msg) ? text.decode(msg) : "" };
  }
  return null;
}

function takeValue(d: BDict): Uint8Array | undefined {
  const v = d["v"] as Uint8Array | undefined;
  delete d["v"];
  return v;
}

export function encodeQuery(t: Uint8Array, q: string, a: BDict, readOnly = false): Uint8Array {
  return encode({ a, q, ro: readOnly ? 1 : undefined, t, v: CLIENT_VERSION, y: "q" });
}

/** What follows a query's `t` value: keys sort a, q, ro, t, v, y, so only `v` and `y` (and the end). */
const QUERY_TAIL = encode({ v: CLIENT_VERSION, y: "q" }).length - 1;

/** A query with a 2-byte transaction id, from a template encoded once (encodeQuery with any 2-byte `t`). */
export function queryWithTid(template: Uint8Array, tid: number): Uint8Array {
  const buf = template.slice();
  const at = buf.length - QUERY_TAIL - 2;
  buf[at] = tid >> 8;
  buf[at + 1] = tid & 0xff;
  return buf;
}

/** A response, with the requester's address as we see it (BEP 42 `ip`). */
export function encodeResponse(t: Uint8Array, r: { [key: string]: BInput | undefined }, to: Address): Uint8Array {
  return encode({ ip: encodeAddress(to) ?? undefined, r, t, v: CLIENT_VERSION, y: "r" });
}

export function encodeError(t: Uint8Array, code: number, message: string, to: Address): Uint8Array {
  return encode({ e: [code, message], ip: encodeAddress(to) ?? undefined, t, v: CLIENT_VERSION, y: "e" });
}

export const isId = (v: BValue | undefined): v is Uint8Array => isBytes(v) && v.length === ID_LENGTH;

function str(v: BValue | undefined): string | null {
  if (!isBytes(v) || v.length > 32) return null;
  let s = "";
  for (const b of v) s += String.fromCharCode(b);
  return s;
}

/**
 * IPv4 dotted quad to 4 bytes, or null: four decimal numbers ≤ 255 without leading zeros. By hand,
 * not split and a regex, since every reply's sender goes through it (votes, table rules).
 */
export function parseIPv4(host: string): Uint8Array | null {
  const out = new Uint8Array(4);
  let part = 0, digits = 0, n = 0;
  for (let i = 0; i <= host.length; i++) {
    const c = i < host.length ? host.charCodeAt(i) : 46;
    if (c === 46) {
      if (digits === 0 || part === 4) return null;
      out[part++] = n;
      n = digits = 0;
    } else if (c >= 48 && c <= 57 && !(digits === 1 && n === 0)) {
      n = n * 10 + c - 48;
      if (++digits > 3 || n > 255) return null;
    } else {
      return null;
    }
  }
  return part === 4 ? out : null;
}

/** Compact address (BEP 5 / BEP 42): 4-byte IPv4 + 2-byte port; null if the host is not IPv4. */
export function encodeAddress(a: Address): Uint8Array | null {
  const ip = parseIPv4(a.host);
  if (!ip || !Number.isInteger(a.port) || a.port < 0 || a.port > 65535) return null;
  const out = new Uint8Array(ADDRESS_LENGTH);
  out.set(ip);
  out[4] = a.port >> 8;
  out[5] = a.port & 0xff;
  return out;
}

export function decodeAddress(b: Uint8Array, off = 0): Address | null {
  if (b.length - off < ADDRESS_LENGTH) return null;
  return { host: `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`, port: (b[off + 4]! << 8) | b[off + 5]! };
}

/** Compact node info list (BEP 5 `nodes`); contacts without an IPv4 address are skipped. */
export function encodeNodes(nodes: readonly NodeInfo[]): Uint8Array {
  const out = new Uint8Array(nodes.length * NODE_LENGTH);
  let n = 0;
  for (const node of nodes) {
    const addr = encodeAddress(node);
    if (!addr) continue;
    out.set(node.id, n);
    out.set(addr, n + ID_LENGTH);
    n += NODE_LENGTH;
  }
  return out.subarray(0, n);
}

/** Parses `nodes`; a length that is not a multiple of 26 is malformed (null). Port 0 entries are dropped. */
export function decodeNodes(b: Uint8Array): NodeInfo[] | null {
  if (b.length % NODE_LENGTH !== 0) return null;
  const out: NodeInfo[] = [];
  for (let off = 0; off < b.length; off += NODE_LENGTH) {
    const addr = decodeAddress(b, off + ID_LENGTH)!;
    if (addr.port === 0) continue;
    out.push({ id: b.slice(off, off + ID_LENGTH), host: addr.host, port: addr.port });
  }
  return out;
}
