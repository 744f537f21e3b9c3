// The three packet types of PROTOCOL §6, and the two of this implementation's cookies (§8). Header integers are little-endian; the three bytes after
// the type are reserved and zero. Parsing is exact: a wrong length, a non-zero reserved byte or an
// out-of-range field makes the datagram not a packet (`null`), and it is dropped unanswered.
import {
  COOKIE_REPLY_LEN,
  DATA_HEADER,
  DATA_MIN,
  INITIATION_HEADER,
  INITIATION_MAX,
  INITIATION_MIN,
  MAC2_LEN,
  MAX_COUNTER,
  MAX_DATAGRAM,
  RESPONSE_HEADER,
  RESPONSE_LEN,
  TYPE_COOKIE_REPLY,
  TYPE_DATA,
  TYPE_INITIATION,
  TYPE_INITIATION_COOKIE,
  TYPE_RESPONSE,
} from "./constants.ts";

export interface InitiationPacket {
  /** Type 10 is type 1 resent with a cookie's `mac2` (docs/PROTOCOL.md §8). */
  readonly type: typeof TYPE_INITIATION | typeof TYPE_INITIATION_COOKIE;
  readonly senderIndex: number;
  /** Noise message 1. */
  readonly message: Uint8Array;
  /** The whole datagram (the cookie reply is bound to it, and `mac2` covers it). */
  readonly bytes: Uint8Array;
}

export interface CookieReplyPacket {
  readonly type: typeof TYPE_COOKIE_REPLY;
  /** The sender_index of the initiation it answers. */
  readonly receiverIndex: number;
  readonly bytes: Uint8Array;
}

export interface ResponsePacket {
  readonly type: typeof TYPE_RESPONSE;
  readonly senderIndex: number;
  readonly receiverIndex: number;
  /** Noise message 2. */
  readonly message: Uint8Array;
}

export interface DataPacket {
  readonly type: typeof TYPE_DATA;
  readonly receiverIndex: number;
  readonly counter: number;
  readonly ciphertext: Uint8Array;
}

export type Packet = InitiationPacket | ResponsePacket | DataPacket | CookieReplyPacket;

/** Parses one datagram, or returns `null` if it is not exactly one chat/1 packet. */
export function parsePacket(buf: Uint8Array): Packet | null {
  if (buf.length < 4 || buf[1] !== 0 || buf[2] !== 0 || buf[3] !== 0) return null;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  switch (buf[0]) {
    case TYPE_INITIATION:
      if (buf.length < INITIATION_MIN || buf.length > INITIATION_MAX) return null;
      return {
        type: TYPE_INITIATION,
        senderIndex: view.getUint32(4, true),
        message: buf.subarray(INITIATION_HEADER),
        bytes: buf,
      };
    case TYPE_INITIATION_COOKIE:
      if (buf.length < INITIATION_MIN + MAC2_LEN || buf.length > INITIATION_MAX + MAC2_LEN) return null;
      return {
        type: TYPE_INITIATION_COOKIE,
        senderIndex: view.getUint32(4, true),
        message: buf.subarray(INITIATION_HEADER, buf.length - MAC2_LEN),
        bytes: buf,
      };
    case TYPE_COOKIE_REPLY:
      if (buf.length !== COOKIE_REPLY_LEN) return null;
      return { type: TYPE_COOKIE_REPLY, receiverIndex: view.getUint32(4, true), bytes: buf };
    case TYPE_RESPONSE:
      if (buf.length !== RESPONSE_LEN) return null;
      return {
        type: TYPE_RESPONSE,
        senderIndex: view.getUint32(4, true),
        receiverIndex: view.getUint32(8, true),
        message: buf.subarray(RESPONSE_HEADER),
      };
    case TYPE_DATA: {
      if (buf.length < DATA_MIN || buf.length > MAX_DATAGRAM) return null;
      const counter = readU64(view, 8);
      if (counter === null) return null;
      return {
        type: TYPE_DATA,
        receiverIndex: view.getUint32(4, true),
        counter,
        ciphertext: buf.subarray(DATA_HEADER),
      };
    }
    default:
      return null;
  }
}

/** `01 00 00 00 · sender_index · message 1`. */
export function encodeInitiation(senderIndex: number, message: Uint8Array): Uint8Array {
  const out = header(TYPE_INITIATION, INITIATION_HEADER + message.length);
  new DataView(out.buffer).setUint32(4, u32(senderIndex, "sender_index"), true);
  out.set(message, INITIATION_HEADER);
  return checkLength(out, INITIATION_MIN, INITIATION_MAX, "initiation");
}

/** `02 00 00 00 · sender_index · receiver_index · message 2`. */
export function encodeResponse(senderIndex: number, receiverIndex: number, message: Uint8Array): Uint8Array {
  const out = header(TYPE_RESPONSE, RESPONSE_HEADER + message.length);
  const view = new DataView(out.buffer);
  view.setUint32(4, u32(senderIndex, "sender_index"), true);
  view.setUint32(8, u32(receiverIndex, "receiver_index"), true);
  out.set(message, RESPONSE_HEADER);
  return checkLength(out, RESPONSE_LEN, RESPONSE_LEN, "response");
}

/** `03 00 00 00 · receiver_index · counter u64 · ciphertext`. */
export function encodeData(receiverIndex: number, counter: number, ciphertext: Uint8Array): Uint8Array {
  const out = new Uint8Array(DATA_HEADER + ciphertext.length);
  out.set(ciphertext, DATA_HEADER);
  return writeDataHeader(out, receiverIndex, counter);
}

/** Writes the header of a data packet into its first DATA_HEADER bytes (the ciphertext follows). */
export function writeDataHeader(packet: Uint8Array, receiverIndex: number, counter: number): Uint8Array {
  if (!Number.isSafeInteger(counter) || counter < 0) throw new RangeError(`"counter" out of range: ${counter}`);
  packet[0] = TYPE_DATA;
  packet[1] = packet[2] = packet[3] = 0;
  const view = new DataView(packet.buffer, packet.byteOffset, DATA_HEADER);
  view.setUint32(4, u32(receiverIndex, "receiver_index"), true);
  view.setUint32(8, counter % 0x1_0000_0000, true);
  view.setUint32(12, Math.floor(counter / 0x1_0000_0000), true);
  return checkLength(packet, DATA_MIN, MAX_DATAGRAM, "data packet");
}

function header(type: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  out[0] = type;
  return out;
}

/** u64le as a number, or `null` above MAX_COUNTER (see constants.ts). */
function readU64(view: DataView, at: number): number | null {
  const lo = view.getUint32(at, true);
  const hi = view.getUint32(at + 4, true);
  const n = hi * 0x1_0000_0000 + lo;
  return hi < 0x20_0000 && n <= MAX_COUNTER ? n : null;
}

function u32(n: number, title: string): number {
  if (!Number.isInteger(n) || n < 0 || n > 0xffff_ffff) throw new RangeError(`"${title}" expected a u32, got ${n}`);
  return n;
}

function checkLength(packet: Uint8Array, min: number, max: number, what: string): Uint8Array {
  if (packet.length < min || packet.length > max) {
    throw new RangeError(`Cannot encode ${what}: ${packet.length} bytes, expected ${min}..${max}`);
  }
  return packet;
}
