// The plaintext of every data packet is one bencoded frame (PROTOCOL §6), and message 1 carries
// one bencoded payload. Both are decoded exactly: the keys of their kind and nothing else, each
// value of its type and range; anything else is `null`.
import { type BDict, type BValue, encode as encodeDict, isDict, tryDecode } from "../bencode.ts";
import { slabAlloc } from "../slab.ts";
import { FRAGMENT_DATA, MAX_FRAGMENTS, MESSAGE_ID_LEN } from "./constants.ts";

/** `{"y":"m"}`: fragment `index` of `count` of message `id`, sent at `sentAt` (unix ms). */
export interface MessageFrame {
  readonly type: "message";
  readonly id: Uint8Array;
  readonly index: number;
  readonly count: number;
  readonly sentAt: number;
  readonly data: Uint8Array;
}

/** `{"y":"a"}`: every fragment of message `id` arrived. */
export interface AckFrame {
  readonly type: "ack";
  readonly id: Uint8Array;
}

/** `{"y":"x"}`: the sender closes the session. */
export interface CloseFrame {
  readonly type: "close";
}

/** `{"y":"k"}`: a keepalive through a NAT (PROTOCOL §9): not acked, not delivered. */
export interface KeepaliveFrame {
  readonly type: "keepalive";
}

export type Frame = MessageFrame | AckFrame | CloseFrame | KeepaliveFrame;

/** Message 1 payload: the initiator's Ed25519 public key and its unix-ms timestamp. */
export interface InitiationPayload {
  readonly identity: Uint8Array;
  readonly timestamp: number;
}

const Y = { message: 0x6d, ack: 0x61, close: 0x78, keepalive: 0x6b } as const; // "m", "a", "x", "k"

export function encodeFrame(frame: Frame): Uint8Array {
  switch (frame.type) {
    case "message":
      if (!validMessage(frame)) throw new RangeError("Cannot encode message frame: a field is out of range");
      return encodeMessage(frame);
    case "ack":
      if (frame.id.length !== MESSAGE_ID_LEN) throw new RangeError("Cannot encode ack frame: id is not 16 bytes");
      return encodeAck(frame.id);
    case "close":
      return encodeDict({ y: new Uint8Array([Y.close]) });
    case "keepalive":
      return encodeDict({ y: new Uint8Array([Y.keepalive]) });
  }
}

// The two frames of every message are written and read by hand: they are small fixed shapes, and
// a generic bencode dict per packet was a tenth of the packet path. The bytes are those of the
// bencode encoder (keys sorted, canonical integers); a test compares the two on random frames.
const ASCII = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const ACK_HEAD = ASCII("d1:i16:");
const ACK_TAIL = ASCII("1:y1:ae");
const ACK_LEN = ACK_HEAD.length + MESSAGE_ID_LEN + ACK_TAIL.length;

function encodeAck(id: Uint8Array): Uint8Array {
  const out = new Uint8Array(ACK_LEN);
  out.set(ACK_HEAD);
  out.set(id, ACK_HEAD.length);
  out.set(ACK_TAIL, ACK_HEAD.length + MESSAGE_ID_LEN);
  return out;
}

/** `d1:ci<c>e1:d<len>:<d>1:i16:<i>1:ni<n>e1:si<s>e1:y1:me` */
function encodeMessage(f: MessageFrame): Uint8Array {
  const c = String(f.count), len = String(f.data.length), n = String(f.index), s = String(f.sentAt);
  const out = slabAlloc(49 + c.length + len.length + n.length + s.length + f.data.length);
  let at = text(out, 0, "d1:ci");
  at = text(out, at, c);
  at = text(out, at, "e1:d");
  at = text(out, at, len);
  out[at++] = 0x3a; // ":"
  out.set(f.data, at);
  at = text(out, at + f.data.length, "1:i16:");
  out.set(f.id, at);
  at = text(out, at + MESSAGE_ID_LEN, "1:ni");
  at = text(out, at, n);
  at = text(out, at, "e1:si");
  at = text(out, at, s);
  text(out, at, "e1:y1:me");
  return out;
}

function text(out: Uint8Array, at: number, s: string): number {
  for (let i = 0; i < s.length; i++) out[at++] = s.charCodeAt(i);
  return at;
}

/**
 * Reads a message or ack frame in its one canonical form; undefined for anything else, which then
 * goes through the generic decoder (so the answer for every input is the generic decoder's).
 */
function decodeFast(buf: Uint8Array): Frame | null | undefined {
  const r = cursor;
  r.at = 0;
  if (buf.length === ACK_LEN && buf[ACK_LEN - 2] === Y.ack) {
    if (!match(buf, r, ACK_HEAD)) return undefined;
    const id = buf.subarray(r.at, r.at + MESSAGE_ID_LEN);
    r.at += MESSAGE_ID_LEN;
    return match(buf, r, ACK_TAIL) ? { type: "ack", id } : undefined;
  }
  if (!match(buf, r, MSG_C)) return undefined;
  const count = int(buf, r, 0x65);
  if (count === undefined || !match(buf, r, MSG_D)) return undefined;
  const len = int(buf, r, 0x3a);
  if (len === undefined || r.at + len > buf.length) return undefined;
  const data = buf.subarray(r.at, (r.at += len));
  if (!match(buf, r, MSG_I)) return undefined;
  if (r.at + MESSAGE_ID_LEN > buf.length) return undefined;
  const id = buf.subarray(r.at, (r.at += MESSAGE_ID_LEN));
  if (!match(buf, r, MSG_N)) return undefined;
  const index = int(buf, r, 0x65);
  if (index === undefined || !match(buf, r, MSG_S)) return undefined;
  const sentAt = int(buf, r, 0x65);
  if (sentAt === undefined || !match(buf, r, MSG_Y) || r.at !== buf.length) return undefined;
  const frame = { type: "message" as const, id, index, count, sentAt, data };
  return validMessage(frame) ? frame : null;
}
const cursor = { at: 0 }; // decodeFast's read position (synchronous, so one will do)
const MSG_C = ASCII("d1:ci"), MSG_D = ASCII("1:d"), MSG_I = ASCII("1:i16:"), MSG_N = ASCII("1:ni"), MSG_S = ASCII("1:si"), MSG_Y = ASCII("1:y1:me");

function match(buf: Uint8Array, r: { at: number }, bytes: Uint8Array): boolean {
  if (r.at + bytes.length > buf.length) return false;
  for (let i = 0; i < bytes.length; i++) if (buf[r.at + i] !== bytes[i]) return false;
  r.at += bytes.length;
  return true;
}

/** Canonical non-negative digits of at most 15 (exact in a double) ending with `end`; else undefined. */
function int(buf: Uint8Array, r: { at: number }, end: number): number | undefined {
  const start = r.at;
  let v = 0;
  while (r.at < buf.length && r.at - start < 16) {
    const b = buf[r.at]!;
    if (b === end) break;
    if (b < 0x30 || b > 0x39) return undefined;
    v = v * 10 + (b - 0x30);
    r.at++;
  }
  const digits = r.at - start;
  if (buf[r.at] !== end || digits === 0 || digits > 15 || (buf[start] === 0x30 && digits > 1)) return undefined;
  r.at++;
  return v;
}

/** A flat dict (no nested values) of at most `maxKeys` keys, with its size; null otherwise. */
function decodeFlatDict(buf: Uint8Array, maxKeys: number): { dict: BDict; size: number } | null {
  const dict = tryDecode(buf, { maxDepth: 1 });
  if (!isDict(dict)) return null;
  const size = Object.keys(dict).length;
  return size <= maxKeys ? { dict, size } : null;
}

export function decodeFrame(buf: Uint8Array): Frame | null {
  const fast = decodeFast(buf);
  return fast !== undefined ? fast : _decodeFrameBencode(buf);
}

/** {@link decodeFrame} by the generic bencode decoder alone (the reference for the hand-read forms). */
export function _decodeFrameBencode(buf: Uint8Array): Frame | null {
  const { dict, size } = decodeFlatDict(buf, 6) ?? {};
  const y = dict?.["y"];
  if (!dict || !(y instanceof Uint8Array) || y.length !== 1) return null;
  switch (y[0]) {
    case Y.message: {
      if (size !== 6) return null;
      const frame = {
        type: "message" as const,
        id: dict["i"],
        index: dict["n"],
        count: dict["c"],
        sentAt: dict["s"],
        data: dict["d"],
      };
      return validMessage(frame) ? frame : null;
    }
    case Y.ack: {
      const id = dict["i"];
      return size === 2 && id instanceof Uint8Array && id.length === MESSAGE_ID_LEN ? { type: "ack", id } : null;
    }
    case Y.close:
      return size === 1 ? { type: "close" } : null;
    case Y.keepalive:
      return size === 1 ? { type: "keepalive" } : null;
    default:
      return null;
  }
}

export function encodeInitiationPayload(payload: InitiationPayload): Uint8Array {
  if (payload.identity.length !== 32) throw new RangeError("Cannot encode message 1 payload: identity is not 32 bytes");
  if (!isTime(payload.timestamp)) throw new RangeError(`Cannot encode message 1 payload: bad timestamp ${payload.timestamp}`);
  return encodeDict({ i: payload.identity, t: payload.timestamp });
}

export function decodeInitiationPayload(buf: Uint8Array): InitiationPayload | null {
  const { dict, size } = decodeFlatDict(buf, 2) ?? {};
  const identity = dict?.["i"];
  const timestamp = dict?.["t"];
  if (size !== 2 || !(identity instanceof Uint8Array) || identity.length !== 32 || !isTime(timestamp)) return null;
  return { identity, timestamp };
}

interface LooseMessage {
  readonly type: "message";
  readonly id: BValue | undefined;
  readonly index: BValue | undefined;
  readonly count: BValue | undefined;
  readonly sentAt: BValue | undefined;
  readonly data: BValue | undefined;
}

function validMessage(f: LooseMessage): f is MessageFrame {
  return (
    f.id instanceof Uint8Array && f.id.length === MESSAGE_ID_LEN &&
    Number.isInteger(f.count) && (f.count as number) >= 1 && (f.count as number) <= MAX_FRAGMENTS &&
    Number.isInteger(f.index) && (f.index as number) >= 0 && (f.index as number) < (f.count as number) &&
    isTime(f.sentAt) &&
    f.data instanceof Uint8Array && f.data.length <= FRAGMENT_DATA
  );
}

/** Unix ms: a safe integer (the encoders write integers only). */
function isTime(t: BValue | undefined): t is number {
  return Number.isSafeInteger(t) && (t as number) >= 0;
}
