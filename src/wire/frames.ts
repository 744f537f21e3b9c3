// The plaintext of every data packet is one bencoded frame (PROTOCOL §6), and message 1 carries
// one bencoded payload. Both are decoded exactly: the keys of their kind and nothing else, each
// value of its type and range; anything else is `null`.
import { type BDict, type BValue, encode as encodeDict, isDict, tryDecode } from "../bencode.ts";
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
      return encodeDict({
        c: frame.count,
        d: frame.data,
        i: frame.id,
        n: frame.index,
        s: frame.sentAt,
        y: new Uint8Array([Y.message]),
      });
    case "ack":
      if (frame.id.length !== MESSAGE_ID_LEN) throw new RangeError("Cannot encode ack frame: id is not 16 bytes");
      return encodeDict({ i: frame.id, y: new Uint8Array([Y.ack]) });
    case "close":
      return encodeDict({ y: new Uint8Array([Y.close]) });
    case "keepalive":
      return encodeDict({ y: new Uint8Array([Y.keepalive]) });
  }
}

/** A flat dict (no nested values) of at most `maxKeys` keys, with its size; null otherwise. */
function decodeFlatDict(buf: Uint8Array, maxKeys: number): { dict: BDict; size: number } | null {
  const dict = tryDecode(buf, { maxDepth: 1 });
  if (!isDict(dict)) return null;
  const size = Object.keys(dict).length;
  return size <= maxKeys ? { dict, size } : null;
}

export function decodeFrame(buf: Uint8Array): Frame | null {
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
    typeof f.count === "number" && f.count >= 1 && f.count <= MAX_FRAGMENTS &&
    typeof f.index === "number" && f.index >= 0 && f.index < f.count &&
    isTime(f.sentAt) &&
    f.data instanceof Uint8Array && f.data.length <= FRAGMENT_DATA
  );
}

function isTime(t: BValue | undefined): t is number {
  return typeof t === "number" && t >= 0;
}
