// The five packet types of PROTOCOL §9 (relays). Same 4-byte header as §6; `addr` is a compact
// address (§1) preceded by its length in one byte (6 or 18); `inner` is one whole §6 packet of
// type 1, 2 or 3 and never a §9 packet. Parsing is exact, as for §6: anything else is `null`.
import {
  type Address, decodeCompactAddress, encodeCompactAddress, RELAY_SECRET_LENGTH, RELAY_TAG_LENGTH,
} from "../crypto/record.ts";
import {
  MAX_DATAGRAM,
  TYPE_DATA,
  TYPE_INITIATION,
  TYPE_REGISTER,
  TYPE_REGISTERED,
  TYPE_RELAY,
  TYPE_RELAY_BACK,
  TYPE_RELAYED,
} from "./constants.ts";

export type RelayPacket =
  | { readonly type: typeof TYPE_REGISTER; readonly secret: Uint8Array }
  | { readonly type: typeof TYPE_REGISTERED; readonly lifetime: number; readonly address: Address }
  | { readonly type: typeof TYPE_RELAY; readonly tag: Uint8Array; readonly inner: Uint8Array }
  | { readonly type: typeof TYPE_RELAY_BACK; readonly address: Address; readonly inner: Uint8Array }
  | { readonly type: typeof TYPE_RELAYED; readonly address: Address; readonly inner: Uint8Array };

const HEADER = 4;

/** Parses one §9 datagram, or `null` if it is not exactly one. */
export function parseRelayPacket(buf: Uint8Array): RelayPacket | null {
  if (buf.length < HEADER || buf[1] !== 0 || buf[2] !== 0 || buf[3] !== 0) return null;
  switch (buf[0]) {
    case TYPE_REGISTER:
      return buf.length === HEADER + RELAY_SECRET_LENGTH ? { type: TYPE_REGISTER, secret: buf.subarray(HEADER) } : null;
    case TYPE_REGISTERED: {
      if (buf.length < HEADER + 2) return null;
      const lifetime = (buf[4] as number) | ((buf[5] as number) << 8);
      const addr = readAddress(buf, HEADER + 2);
      return addr && addr.end === buf.length ? { type: TYPE_REGISTERED, lifetime, address: addr.address } : null;
    }
    case TYPE_RELAY: {
      const inner = innerAt(buf, HEADER + RELAY_TAG_LENGTH);
      return inner ? { type: TYPE_RELAY, tag: buf.subarray(HEADER, HEADER + RELAY_TAG_LENGTH), inner } : null;
    }
    case TYPE_RELAY_BACK:
    case TYPE_RELAYED: {
      const addr = readAddress(buf, HEADER);
      const inner = addr && innerAt(buf, addr.end);
      if (!addr || !inner) return null;
      return { type: buf[0] as typeof TYPE_RELAY_BACK | typeof TYPE_RELAYED, address: addr.address, inner };
    }
    default:
      return null;
  }
}

export function encodeRegister(secret: Uint8Array): Uint8Array {
  if (secret.length !== RELAY_SECRET_LENGTH) throw new RangeError(`"secret" expected ${RELAY_SECRET_LENGTH} bytes, got ${secret.length}`);
  return packet(TYPE_REGISTER, secret);
}

export function encodeRegistered(lifetime: number, address: Address): Uint8Array {
  if (!Number.isInteger(lifetime) || lifetime < 0 || lifetime > 0xffff) throw new RangeError(`"lifetime" expected a u16, got ${lifetime}`);
  return packet(TYPE_REGISTERED, Uint8Array.of(lifetime & 0xff, lifetime >> 8), addressField(address));
}

export function encodeRelay(tag: Uint8Array, inner: Uint8Array): Uint8Array {
  if (tag.length !== RELAY_TAG_LENGTH) throw new RangeError(`"tag" expected ${RELAY_TAG_LENGTH} bytes, got ${tag.length}`);
  return packet(TYPE_RELAY, tag, inner);
}

export function encodeRelayBack(to: Address, inner: Uint8Array): Uint8Array {
  return packet(TYPE_RELAY_BACK, addressField(to), inner);
}

export function encodeRelayed(from: Address, inner: Uint8Array): Uint8Array {
  return packet(TYPE_RELAYED, addressField(from), inner);
}

function packet(type: number, ...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(HEADER + parts.reduce((n, p) => n + p.length, 0));
  out[0] = type;
  let at = HEADER;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function addressField(address: Address): Uint8Array {
  const compact = encodeCompactAddress(address);
  const out = new Uint8Array(1 + compact.length);
  out[0] = compact.length;
  out.set(compact, 1);
  return out;
}

function readAddress(buf: Uint8Array, at: number): { address: Address; end: number } | null {
  const length = buf[at];
  if (length !== 6 && length !== 18) return null;
  const end = at + 1 + length;
  if (end > buf.length) return null;
  const address = decodeCompactAddress(buf.subarray(at + 1, end));
  return address ? { address, end } : null;
}

/** The §6 packet that fills the rest of `buf` from `at`: types 1–3 only, with zero reserved bytes. */
function innerAt(buf: Uint8Array, at: number): Uint8Array | null {
  const inner = buf.subarray(at);
  const type = inner[0] as number;
  if (inner.length < HEADER || inner.length > MAX_DATAGRAM || type < TYPE_INITIATION || type > TYPE_DATA) return null;
  return inner[1] === 0 && inner[2] === 0 && inner[3] === 0 ? inner : null;
}
