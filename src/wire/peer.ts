// One remote identity (as wireguard-go's peer.go): its sessions, its handshake in progress and its
// outbox; and the table of peers. A peer is forgotten as soon as it has none of these, so the table
// holds only what is in flight and never grows from packets alone.
import type { Initiation } from "./handshake.ts";
import { Outbox } from "./outbox.ts";
import type { Path, Route } from "./path.ts";
import type { PeerRate } from "./ratelimit.ts";
import type { Address, Session } from "./session.ts";
import type { Backoff } from "./timers.ts";
import { toHex } from "./_bytes.ts";

/** A handshake in progress with one peer (we initiate). */
export interface Handshake {
  readonly peer: Peer;
  /** Every direct address and relay of the peer's route: each attempt goes out on all of them. */
  readonly paths: readonly Path[];
  /** Every attempt stays answerable until one completes: a slow response still counts. */
  readonly attempts: Map<number, Initiation>;
  readonly backoff: Backoff;
  timer?: unknown;
  /** The responder's latest cookie (under load, docs/PROTOCOL.md §8), sent with every attempt. */
  cookie?: { readonly value: Uint8Array; readonly at: number; readonly from: Address };
  /** Attempts already resent with a cookie: once each, the retry timer does the rest. */
  readonly cookied: Set<number>;
}

/** A remote identity we talk to. */
export interface Peer {
  readonly key: string;
  readonly publicKey: Uint8Array;
  x25519?: Uint8Array;
  /** Where a new handshake goes: the route given to `sendMessage`, or where the peer was last heard from. */
  route?: Route;
  /** Confirmed sessions, newest first, at most SESSIONS_PER_PEER. */
  sessions: Session[];
  handshake?: Handshake;
  readonly outbox: Outbox;
  /** What it may deliver to us, per second (created with its first message). */
  rate?: PeerRate;
}

/** The peers we talk to, by public key (hex). */
export class Peers {
  readonly #peers = new Map<string, Peer>();

  get size(): number {
    return this.#peers.size;
  }

  /** `key`: its hex, when the caller has it (a session keeps its peer's: one lookup per packet). */
  get(publicKey: Uint8Array, key = toHex(publicKey)): Peer | undefined {
    return this.#peers.get(key);
  }

  /** The peer of `publicKey`, added if new. */
  getOrAdd(publicKey: Uint8Array, key = toHex(publicKey)): Peer {
    let peer = this.#peers.get(key);
    if (!peer) {
      peer = { key, publicKey: publicKey.slice(), sessions: [], outbox: new Outbox() };
      this.#peers.set(key, peer);
    }
    return peer;
  }

  /** Drops the peer once it has no session, no handshake and nothing to send. */
  forgetIfIdle(peer: Peer): void {
    if (!peer.sessions.length && !peer.handshake && peer.outbox.empty) {
      if (this.#peers.get(peer.key) === peer) this.#peers.delete(peer.key);
    }
  }

  values(): IterableIterator<Peer> {
    return this.#peers.values();
  }

  clear(): void {
    this.#peers.clear();
  }
}
