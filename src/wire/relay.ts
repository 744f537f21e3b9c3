// The relay of PROTOCOL §9, which every chat/1 node with a public address runs: it maps a tag to
// the listener that registered it and forwards a few packets between that listener and its
// senders. It sees only Noise ciphertext and two addresses. It never sends to an address that did
// not ask (no reflection), and every table and rate is bounded (RelayLimits).
import { relayTag } from "../crypto/record.ts";
import {
  DEFAULT_RELAY_LIMITS,
  RELAY_PAIR_WINDOW,
  type RelayLimits,
  TYPE_REGISTER,
  TYPE_RELAY,
  TYPE_RELAY_BACK,
} from "./constants.ts";
import { TokenBucket } from "./ratelimit.ts";
import { encodeRegistered, encodeRelayed, type RelayPacket } from "./relay_packets.ts";
import type { Address } from "../crypto/record.ts";
import { toHex } from "./_bytes.ts";

export interface RelayOptions {
  send: (datagram: Uint8Array, to: Address) => void;
  /** Unix milliseconds (default `Date.now`). */
  clock?: () => number;
  limits?: Partial<RelayLimits>;
}

export interface RelayStats {
  /** Current table sizes. */
  registrations: number;
  pairs: number;
  /** Since start. */
  registers: number;
  /** Packets forwarded to listeners (`relay` → `relayed`) and to senders (`relay-back` → `relayed`). */
  forwarded: number;
  forwardedBack: number;
  bytes: number;
  dropped: {
    /** A `relay` for a tag nobody registered. */
    unknownTag: number;
    /** A `relay-back` to a sender that did not write to this listener within 60 s. */
    notAllowed: number;
    /** A table full, or a source over its registrations. */
    full: number;
    /** Over a pair's or the relay's packet or byte rate. */
    rateLimited: number;
  };
}

interface Registration {
  readonly tag: string;
  address: Address;
  source: string;
  expires: number;
}

interface Pair {
  readonly sender: Address;
  expires: number;
  readonly packets: TokenBucket;
  readonly bytes: TokenBucket;
}

const key = (a: Address) => `${a.host}|${a.port}`;
/** Limits count per IP, except on loopback where tests run many peers on one IP (as the DHT does). */
const sourceOf = (a: Address) => (a.host.startsWith("127.") || a.host === "::1" ? key(a) : a.host);

export class Relay {
  readonly #send: (datagram: Uint8Array, to: Address) => void;
  readonly #clock: () => number;
  readonly #limits: RelayLimits;
  /** By tag (hex), least recently registered first, so expiry prunes from the front. */
  readonly #registrations = new Map<string, Registration>();
  readonly #perSource = new Map<string, number>();
  /** By `listener|sender`, least recently refreshed first. */
  readonly #pairs = new Map<string, Pair>();
  readonly #packets: TokenBucket;
  readonly #bytes: TokenBucket;
  readonly #stats = { registers: 0, forwarded: 0, forwardedBack: 0, bytes: 0 };
  readonly #dropped = { unknownTag: 0, notAllowed: 0, full: 0, rateLimited: 0 };

  constructor(options: RelayOptions) {
    this.#send = options.send;
    this.#clock = options.clock ?? Date.now;
    this.#limits = { ...DEFAULT_RELAY_LIMITS, ...options.limits };
    const now = this.#clock();
    this.#packets = new TokenBucket(this.#limits.totalPacketRate, this.#limits.totalPacketRate, now);
    this.#bytes = new TokenBucket(this.#limits.totalByteRate, this.#limits.totalByteRate, now);
  }

  get stats(): RelayStats {
    return { registrations: this.#registrations.size, pairs: this.#pairs.size, ...this.#stats, dropped: { ...this.#dropped } };
  }

  /** Takes a `register`, `relay` or `relay-back` (the caller parsed it); drops anything else. */
  receive(packet: RelayPacket, from: Address): void {
    const now = this.#clock();
    this.#expire(now);
    if (packet.type === TYPE_REGISTER) this.#onRegister(packet.secret, from, now);
    else if (packet.type === TYPE_RELAY) this.#onRelay(packet.tag, packet.inner, from, now);
    else if (packet.type === TYPE_RELAY_BACK) this.#onRelayBack(packet.address, packet.inner, from, now);
  }

  #onRegister(secret: Uint8Array, from: Address, now: number): void {
    const tag = toHex(relayTag(secret));
    const source = sourceOf(from);
    let registration = this.#registrations.get(tag);
    if (registration && registration.source !== source) {
      // The same secret from elsewhere: the listener's NAT rebound (PROTOCOL §9), so it moves.
      this.#forget(registration);
      registration = undefined;
    }
    if (!registration) {
      if (this.#registrations.size >= this.#limits.maxRegistrations ||
        (this.#perSource.get(source) ?? 0) >= this.#limits.registrationsPerSource) {
        this.#dropped.full++;
        return;
      }
      registration = { tag, address: from, source, expires: 0 };
      this.#perSource.set(source, (this.#perSource.get(source) ?? 0) + 1);
    }
    registration.address = from;
    registration.expires = now + this.#limits.lifetime * 1000;
    this.#registrations.delete(tag);
    this.#registrations.set(tag, registration);
    this.#stats.registers++;
    this.#forward(encodeRegistered(this.#limits.lifetime, from), from);
  }

  #onRelay(tag: Uint8Array, inner: Uint8Array, from: Address, now: number): void {
    const registration = this.#registrations.get(toHex(tag));
    if (!registration) {
      this.#dropped.unknownTag++;
      return;
    }
    const listener = registration.address;
    const id = `${key(listener)}|${key(from)}`;
    let pair = this.#pairs.get(id);
    if (!pair) {
      if (this.#pairs.size >= this.#limits.maxPairs) {
        this.#dropped.full++;
        return;
      }
      const l = this.#limits;
      pair = {
        sender: from, expires: 0,
        packets: new TokenBucket(l.pairPacketRate, l.pairPacketBurst, now),
        bytes: new TokenBucket(l.pairByteRate, l.pairByteBurst, now),
      };
    }
    pair.expires = now + RELAY_PAIR_WINDOW;
    this.#pairs.delete(id);
    this.#pairs.set(id, pair);
    if (this.#admit(pair, inner.length, now)) {
      this.#stats.forwarded++;
      this.#forward(encodeRelayed(from, inner), listener);
    }
  }

  #onRelayBack(to: Address, inner: Uint8Array, from: Address, now: number): void {
    const pair = this.#pairs.get(`${key(from)}|${key(to)}`);
    if (!pair) {
      this.#dropped.notAllowed++;
      return;
    }
    if (this.#admit(pair, inner.length, now)) {
      this.#stats.forwardedBack++;
      this.#forward(encodeRelayed(from, inner), pair.sender);
    }
  }

  /** The pair's and the relay's packet and byte budgets. */
  #admit(pair: Pair, bytes: number, now: number): boolean {
    if (pair.packets.take(now) && pair.bytes.take(now, bytes) && this.#packets.take(now) && this.#bytes.take(now, bytes)) return true;
    this.#dropped.rateLimited++;
    return false;
  }

  #forward(datagram: Uint8Array, to: Address): void {
    this.#stats.bytes += datagram.length;
    try {
      this.#send(datagram, to);
    } catch {
      // A send error (the socket closed) is the network's loss, as a dropped datagram would be.
    }
  }

  #forget(registration: Registration): void {
    this.#registrations.delete(registration.tag);
    const n = (this.#perSource.get(registration.source) ?? 1) - 1;
    if (n > 0) this.#perSource.set(registration.source, n);
    else this.#perSource.delete(registration.source);
  }

  /** Both tables are in refresh order: expired entries are at the front. */
  #expire(now: number): void {
    for (const registration of this.#registrations.values()) {
      if (registration.expires > now) break;
      this.#forget(registration);
    }
    for (const [id, pair] of this.#pairs) {
      if (pair.expires > now) break;
      this.#pairs.delete(id);
    }
  }
}
