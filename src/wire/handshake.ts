// The IK handshake of PROTOCOL §6, for both roles, over src/crypto/noise.ts. Each attempt is one
// HandshakeState used once: an initiation is never resent byte for byte (the responder's replay
// guard would drop it), a retry is a new `Initiation` with a fresh ephemeral, `t` and index.
// noise.ts wipes the ephemeral and handshake secrets the moment the handshake completes.
import { isX25519FormOf } from "../crypto/identity.ts";
import { type CipherState, HandshakeState } from "../crypto/noise.ts";
import type { KeyPair } from "../crypto/x25519.ts";
import { PROLOGUE } from "./constants.ts";
import { decodeInitiationPayload, encodeInitiationPayload } from "./frames.ts";
import { encodeInitiation, encodeResponse, type InitiationPacket, type ResponsePacket } from "./packets.ts";

/** What the session layer needs of an identity (PROTOCOL §2): A and its X25519 form. */
export interface WireIdentity {
  /** The Ed25519 public key A, 32 bytes. */
  readonly publicKey: Uint8Array;
  /** The X25519 key pair of the same identity (secret a, public Montgomery u of A). */
  readonly x25519: KeyPair;
}

/** The transport keys of an established session. */
export interface TransportKeys {
  readonly send: CipherState;
  readonly receive: CipherState;
}

const EMPTY = new Uint8Array(0);

function newHandshake(initiator: boolean, identity: WireIdentity, rs?: Uint8Array): HandshakeState {
  return new HandshakeState({
    pattern: "IK",
    initiator,
    prologue: PROLOGUE,
    s: identity.x25519,
    ...(rs ? { rs } : {}),
  });
}

/** The initiator's side of one attempt: message 1 written, waiting for message 2. */
export class Initiation {
  readonly index: number;
  readonly timestamp: number;
  /** The initiation packet to send. */
  readonly packet: Uint8Array;
  #hs: HandshakeState | undefined;

  /**
   * Writes message 1 to the responder whose X25519 static key is `remoteStatic`, with payload
   * `{i: our Ed25519 key, t: timestamp}` (or `payload`, to let tests forge one).
   */
  constructor(identity: WireIdentity, remoteStatic: Uint8Array, index: number, timestamp: number, payload?: Uint8Array) {
    this.index = index;
    this.timestamp = timestamp;
    const hs = newHandshake(true, identity, remoteStatic);
    try {
      const message = hs.writeMessage(payload ?? encodeInitiationPayload({ identity: identity.publicKey, timestamp }));
      this.packet = encodeInitiation(index, message);
    } catch (err) {
      hs.destroy();
      throw err;
    }
    this.#hs = hs;
  }

  /**
   * Reads message 2. On success the handshake is over and its secrets are wiped; on failure
   * (`null`) the attempt is unchanged (noise.ts commits only a message that reads completely), so
   * a forged response cannot kill it.
   */
  consume(packet: ResponsePacket): TransportKeys | null {
    const hs = this.#hs;
    if (!hs) return null;
    let payload: Uint8Array;
    try {
      payload = hs.readMessage(packet.message);
    } catch {
      return null;
    }
    this.#hs = undefined;
    const [send, receive] = hs.split();
    // PROTOCOL §6: message 2 carries an empty payload; anything else is not chat/1.
    if (payload.length !== 0) {
      send.destroy();
      receive.destroy();
      return null;
    }
    return { send, receive };
  }

  /** Erases the attempt (superseded, answered or abandoned). */
  erase(): void {
    this.#hs?.destroy();
    this.#hs = undefined;
  }

  /** The Noise state, for tests that check what gets erased. */
  get _handshake(): HandshakeState | undefined {
    return this.#hs;
  }
}

/** Why message 1 was not accepted. */
export type InitiationFailure = "decrypt" | "payload" | "identity";

/** The responder's side: message 1 read and checked, message 2 not yet written. */
export class Responder {
  /** The initiator's Ed25519 public key, bound to its Noise static key. */
  readonly peer: Uint8Array;
  readonly timestamp: number;
  readonly remoteIndex: number;
  #hs: HandshakeState | undefined;

  private constructor(hs: HandshakeState, peer: Uint8Array, timestamp: number, remoteIndex: number) {
    this.#hs = hs;
    this.peer = peer;
    this.timestamp = timestamp;
    this.remoteIndex = remoteIndex;
  }

  /**
   * Reads message 1 and checks PROTOCOL §6: the payload is `{i, t}` and the X25519 form of `i`
   * equals the static key Noise revealed. The `t` replay guard is the caller's (it keeps state).
   */
  static read(identity: WireIdentity, packet: InitiationPacket): Responder | InitiationFailure {
    const hs = newHandshake(false, identity);
    let payload: Uint8Array;
    try {
      payload = hs.readMessage(packet.message);
    } catch {
      hs.destroy();
      return "decrypt";
    }
    const fields = decodeInitiationPayload(payload);
    if (!fields) {
      hs.destroy();
      return "payload";
    }
    const revealed = hs.remoteStatic;
    // u = (1 + y)/(1 − y) of `i`, checked without an inversion or a point decoding (each ~0.1 ms),
    // and WITHOUT the torsion check of x25519FromEd25519Public (a scalar multiplication by L: ~1 ms).
    // The static key u is authenticated: message 1 decrypted under DH(our static, u), which takes
    // u's secret (or ours), so u = a·9 on the curve (noise.ts refuses a low-order one) and y is the
    // point ±A of that a. For `i` = A + T with T ≠ 0 a torsion point (no honest key is one), our
    // clamped DH ignores T, so only the holder of A's secret gets this far: an alias of its own
    // identity, worth no more than a fresh one.
    if (!revealed || !isX25519FormOf(fields.identity, revealed)) {
      hs.destroy();
      return "identity";
    }
    return new Responder(hs, fields.identity.slice(), fields.timestamp, packet.senderIndex);
  }

  /** Writes message 2 (empty payload) under `index` and splits: the responder sends with [1]. */
  respond(index: number): { packet: Uint8Array; keys: TransportKeys } {
    const hs = this.#hs;
    if (!hs) throw new Error("Cannot respond: this handshake was already answered or erased");
    this.#hs = undefined;
    let message: Uint8Array;
    try {
      message = hs.writeMessage(EMPTY);
    } catch (err) {
      hs.destroy();
      throw err;
    }
    const [receive, send] = hs.split();
    return { packet: encodeResponse(index, this.remoteIndex, message), keys: { send, receive } };
  }

  /** Erases the handshake without answering it. */
  erase(): void {
    this.#hs?.destroy();
    this.#hs = undefined;
  }
}
