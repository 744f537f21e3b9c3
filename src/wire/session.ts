// One established (or, for a responder, about to be confirmed) session: its transport keys,
// send counter, replay window and inbox. `erase()` wipes the keys; nothing works afterwards.
import type { CipherState } from "../crypto/noise.ts";
import { MAX_COUNTER } from "./constants.ts";
import { Inbox } from "./fragment.ts";
import { encodeData, type DataPacket } from "./packets.ts";
import { ReplayWindow } from "./replay.ts";
import type { TransportKeys } from "./handshake.ts";

/** A UDP address. */
export interface Address {
  readonly host: string;
  readonly port: number;
}

const NO_AD = new Uint8Array(0); // PROTOCOL §6: data packets have empty associated data

export interface SessionInit {
  readonly localIndex: number;
  readonly remoteIndex: number;
  /** The peer's Ed25519 public key. */
  readonly peer: Uint8Array;
  readonly initiator: boolean;
  readonly keys: TransportKeys;
  readonly address: Address;
  readonly now: number;
  readonly inbox: Inbox;
}

export class Session {
  readonly localIndex: number;
  readonly remoteIndex: number;
  readonly peer: Uint8Array;
  readonly initiator: boolean;
  readonly createdAt: number;
  readonly inbox: Inbox;
  /** Where the peer was last heard from (authenticated packets only), as WireGuard's roaming. */
  address: Address;
  lastReceived: number;
  lastSent: number;
  /**
   * A responder may not send until the first data packet proves the initiator holds the keys
   * (key confirmation); the initiator's session is confirmed by message 2.
   */
  confirmed: boolean;
  #send: CipherState | undefined;
  #receive: CipherState | undefined;
  #counter = 0;
  readonly #replay = new ReplayWindow();

  constructor(init: SessionInit) {
    this.localIndex = init.localIndex;
    this.remoteIndex = init.remoteIndex;
    this.peer = init.peer;
    this.initiator = init.initiator;
    this.createdAt = init.now;
    this.lastReceived = init.now;
    this.lastSent = init.now;
    this.address = init.address;
    this.confirmed = init.initiator;
    this.inbox = init.inbox;
    this.#send = init.keys.send;
    this.#receive = init.keys.receive;
  }

  get alive(): boolean {
    return this.#send !== undefined;
  }

  /** Data packets sent so far (the next counter). */
  get sent(): number {
    return this.#counter;
  }

  /** Encrypts one frame into a data packet under the next counter, or `null` if erased or spent. */
  seal(frame: Uint8Array): Uint8Array | null {
    if (!this.#send || this.#counter > MAX_COUNTER) return null;
    const counter = this.#counter++;
    return encodeData(this.remoteIndex, counter, this.#send.encryptWithNonce(counter, NO_AD, frame));
  }

  /**
   * Decrypts a data packet addressed to this session: the replay window is consulted before the
   * AEAD (cheap) and updated only after it authenticated (RFC 6479; WireGuard §5.4.6).
   */
  open(packet: DataPacket): Uint8Array | "replay" | "decrypt" {
    if (!this.#receive) return "decrypt";
    if (!this.#replay.check(packet.counter)) return "replay";
    let plaintext: Uint8Array;
    try {
      plaintext = this.#receive.decryptWithNonce(packet.counter, NO_AD, packet.ciphertext);
    } catch {
      return "decrypt";
    }
    return this.#replay.update(packet.counter) ? plaintext : "replay";
  }

  /** Wipes both transport keys and forgets everything received. */
  erase(): void {
    this.#send?.destroy();
    this.#receive?.destroy();
    this.#send = undefined;
    this.#receive = undefined;
    this.inbox.clear();
  }

  /** The transport CipherStates, for tests that check they are wiped. */
  get _keys(): { send: CipherState | undefined; receive: CipherState | undefined } {
    return { send: this.#send, receive: this.#receive };
  }
}
