// One established (or, for a responder, about to be confirmed) session: its transport keys,
// send counter, replay window and inbox. `erase()` wipes the keys; nothing works afterwards.
import type { CipherState } from "../crypto/noise.ts";
import type { Address } from "../crypto/record.ts";
import { DATA_HEADER, MAX_COUNTER } from "./constants.ts";
import { Inbox } from "./fragment.ts";
import { type DataPacket, writeDataHeader } from "./packets.ts";
import type { Path } from "./path.ts";
import { ReplayWindow } from "./replay.ts";
import { toHex } from "./_bytes.ts";
import type { TransportKeys } from "./handshake.ts";

/** A UDP address (the crypto layer's, as records carry it). */
export type { Address };

const NO_AD = new Uint8Array(0); // PROTOCOL §6: data packets have empty associated data

export interface SessionInit {
  readonly localIndex: number;
  readonly remoteIndex: number;
  /** The peer's Ed25519 public key. */
  readonly peer: Uint8Array;
  readonly initiator: boolean;
  readonly keys: TransportKeys;
  readonly address: Address;
  readonly path: Path;
  /** Direct addresses to try alongside a relayed path (PROTOCOL §9, the punch). */
  readonly punch?: readonly Address[];
  /** The relays the initiator reached the peer by: `relayed` packets from them belong here. */
  readonly relayPaths?: readonly Path[];
  readonly now: number;
  readonly inbox: Inbox;
}

export class Session {
  readonly localIndex: number;
  readonly remoteIndex: number;
  readonly peer: Uint8Array;
  /** The peer's key in the table of peers (its hex), computed once. */
  readonly peerKey: string;
  readonly initiator: boolean;
  readonly createdAt: number;
  readonly inbox: Inbox;
  /** Where the peer was last heard from (authenticated packets only), as WireGuard's roaming. */
  address: Address;
  /** How our packets reach it: the path of its latest authenticated packet (PROTOCOL §9). */
  path: Path;
  /** While the path is relayed: direct addresses that also get a copy, until one answers. */
  punch: readonly Address[];
  readonly relayPaths: readonly Path[];
  lastReceived: number;
  lastSent: number;
  /** When the last keepalive went out (keepalives do not count as activity for idle expiry). */
  lastKeepalive: number;
  /** When an authenticated packet last came directly (-Infinity: never). */
  lastDirect = -Infinity;
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
    this.peerKey = toHex(init.peer);
    this.initiator = init.initiator;
    this.createdAt = init.now;
    this.lastReceived = init.now;
    this.lastSent = init.now;
    this.address = init.address;
    this.path = init.path;
    this.punch = init.punch ?? [];
    this.relayPaths = init.relayPaths ?? [];
    this.lastKeepalive = init.now;
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
    return writeDataHeader(this.#send.encryptWithNonce(counter, NO_AD, frame, DATA_HEADER), this.remoteIndex, counter);
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

  /**
   * Whether a packet the replay window refused is authentic all the same: a copy that came by
   * another path (PROTOCOL §9 sends the first packets both ways) still proves that path works.
   */
  authentic(packet: DataPacket): boolean {
    try {
      return this.#receive?.decryptWithNonce(packet.counter, NO_AD, packet.ciphertext) !== undefined;
    } catch {
      return false;
    }
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
