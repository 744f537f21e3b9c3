// A listener behind NAT (PROTOCOL §9): how it knows it is behind one, and its registrations with
// two relays: `register` every 20 s (which also holds its NAT mapping toward the relay), a relay
// that missed 3 answers replaced by another, and a new secret, so a new tag, for every period.
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { networkInterfaces } from "node:os";
import { randomBytes } from "@noble/hashes/utils.js";
import { periodOf } from "./crypto/blind.ts";
import { type Address, RELAY_SECRET_LENGTH, type RelayEntry, relayTag } from "./crypto/record.ts";
import { addressKey, type Clock } from "./dht/transport.ts";
import { TYPE_REGISTERED } from "./wire/constants.ts";
import { isPrivateIPv4 } from "./wire/path.ts";
import { encodeRegister, parseRelayPacket } from "./wire/relay_packets.ts";

/** PROTOCOL §9 and our decisions (docs/PROTOCOL.md §8). */
export const RELAYS_WANTED = 2;
/** Candidates asked at once, beyond those, while a relay is missing. */
export const PROBES = 4;
export const REGISTER_EVERY = 20_000;
/** A register unanswered this long counts as missed and is sent again. */
export const REGISTER_ANSWER_WAIT = 2_000;
/** Missed answers in a row that make a relay lost (PROTOCOL §9: 3). */
export const REGISTER_MISSES = 3;
/** LAN addresses a record lists after the public one (PROTOCOL §9: at most 2). */
export const MAX_LAN_ADDRESSES = 2;

/**
 * Named relays as IP addresses (relays answer from an IP, which is how we know them); a name that
 * does not resolve is left out.
 */
export async function resolveRelays(list: readonly Address[]): Promise<Address[]> {
  const out = await Promise.all(list.map(async (a) => {
    if (isIP(a.host)) return a;
    try {
      return { host: (await lookup(a.host, { family: 4 })).address, port: a.port };
    } catch {
      return null;
    }
  }));
  return out.filter((a): a is Address => a !== null);
}

/** Our interface addresses (IPv4), loopback included. */
export function interfaceAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).filter((i) => i.family === "IPv4").map((i) => i.address));
}

/**
 * PROTOCOL §9: behind NAT when the address the network sees is not one of our interfaces' (the
 * bound one, or any when the socket is bound to all). Undefined while nothing has told us yet.
 */
export function behindNat(seen: Address | null | undefined, bound: Address, interfaces: readonly string[] = interfaceAddresses()): boolean | undefined {
  if (!seen) return undefined;
  return !(bound.host === "0.0.0.0" ? interfaces : [bound.host]).includes(seen.host);
}

/**
 * The private interface addresses a record lists after the public one, with our port: those of
 * every interface when the socket is bound to all of them, else the bound one if it is private.
 */
export function lanAddresses(bound: Address, interfaces: readonly string[] = interfaceAddresses()): Address[] {
  const hosts = bound.host === "0.0.0.0" ? interfaces : [bound.host];
  return hosts.filter(isPrivateIPv4).slice(0, MAX_LAN_ADDRESSES).map((host) => ({ host, port: bound.port }));
}

export type RelayState = "registered" | "lost";

export interface RegistrationsOptions {
  send: (datagram: Uint8Array, to: Address) => void;
  clock: Clock;
  /** Relays the user named: tried first, in order. */
  named?: readonly Address[];
  /** Chat nodes met on the DHT, newest last: the other candidates. */
  candidates: () => readonly Address[];
  /** A relay was registered or lost; `registered` carries our address as that relay sees it. */
  onChange: (relay: Address, state: RelayState, seenAs?: Address) => void;
  random?: (n: number) => Uint8Array;
  /** Milliseconds between registers (default REGISTER_EVERY; less behind a NAT that forgets sooner). */
  every?: number;
}

interface Registration {
  readonly address: Address;
  registered: boolean;
  /** Unanswered registers in a row. */
  missed: number;
  /** When the last register went out, and whether it is still unanswered. */
  sentAt: number;
  waiting: boolean;
}

/** The listener's side of the relays: keeps RELAYS_WANTED registrations alive. */
export class RelayRegistrations {
  readonly #opts: RegistrationsOptions;
  readonly #random: (n: number) => Uint8Array;
  readonly #active = new Map<string, Registration>();
  /** Candidates that failed, so that the next pick tries others first. */
  readonly #failed = new Set<string>();
  readonly #secrets = new Map<number, Uint8Array>();
  #timer: unknown = null;
  #stopped = true;

  constructor(opts: RegistrationsOptions) {
    this.#opts = opts;
    this.#random = opts.random ?? randomBytes;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#tick();
  }

  stop(): void {
    this.#stopped = true;
    this.#opts.clock.clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** Whether RELAYS_WANTED relays are registered. */
  get complete(): boolean {
    return this.relays.length >= RELAYS_WANTED;
  }

  /** The relays registered now. */
  get relays(): Address[] {
    return [...this.#active.values()].filter((r) => r.registered).map((r) => r.address);
  }

  /** The `r` entries of period p's record: each registered relay with that period's tag. */
  entries(period: number): RelayEntry[] {
    const tag = relayTag(this.#secret(period));
    return this.relays.map((address) => ({ address, tag }));
  }

  /** Takes a datagram of type 5 (`registered`). */
  receive(buf: Uint8Array, from: Address): void {
    const registration = this.#active.get(addressKey(from));
    const packet = parseRelayPacket(buf);
    if (!registration || packet?.type !== TYPE_REGISTERED) return;
    registration.missed = 0;
    registration.waiting = false;
    if (!registration.registered) {
      if (this.relays.length >= RELAYS_WANTED) return void this.#active.delete(addressKey(from));
      registration.registered = true;
      this.#opts.onChange(registration.address, "registered", packet.address);
    }
  }

  #tick(): void {
    if (this.#stopped) return;
    const now = this.#opts.clock.now();
    for (const [key, r] of this.#active) {
      if (r.waiting && now - r.sentAt >= REGISTER_ANSWER_WAIT) {
        r.missed++;
        r.waiting = false;
        // A candidate that never answered is not waited for twice: most such are not relays.
        if (r.missed >= REGISTER_MISSES || !r.registered) {
          this.#active.delete(key);
          this.#failed.add(key);
          if (r.registered) this.#opts.onChange(r.address, "lost");
          continue;
        }
        this.#register(r, now); // missed: again at once, not in 20 s
      } else if (!r.waiting && now - r.sentAt >= (this.#opts.every ?? REGISTER_EVERY)) {
        this.#register(r, now);
      }
    }
    this.#fill(now);
    this.#timer = this.#opts.clock.setTimeout(() => this.#tick(), 500);
  }

  /**
   * Keeps RELAYS_WANTED registered: while fewer are, probes up to PROBES more candidates at once
   * (named ones first, failed ones last); once enough are, stops probing.
   */
  #fill(now: number): void {
    const registered = this.relays.length;
    if (registered >= RELAYS_WANTED) {
      for (const [key, r] of this.#active) if (!r.registered) this.#active.delete(key);
      return;
    }
    const seen = new Set<string>();
    const pool = [...(this.#opts.named ?? []), ...[...this.#opts.candidates()].reverse()].filter((a) => {
      const key = addressKey(a);
      if (seen.has(key) || this.#active.has(key)) return false;
      seen.add(key);
      return true;
    });
    pool.sort((a, b) => Number(this.#failed.has(addressKey(a))) - Number(this.#failed.has(addressKey(b))));
    for (const address of pool) {
      if (this.#active.size >= RELAYS_WANTED + PROBES) break;
      const r: Registration = { address, registered: false, missed: 0, sentAt: 0, waiting: false };
      this.#active.set(addressKey(address), r);
      this.#register(r, now);
    }
    if (pool.length === 0) this.#failed.clear();
  }

  /** One `register` per live period secret: p, and p + 1 so that the next record's tag works. */
  #register(r: Registration, now: number): void {
    r.sentAt = now;
    r.waiting = true;
    const p = periodOf(now / 1000);
    for (const period of [p, p + 1]) {
      try {
        this.#opts.send(encodeRegister(this.#secret(period)), r.address);
      } catch {
        // The socket closed: the listener is going away.
      }
    }
  }

  /** The secret of period p: random, made once, forgotten when the period is over. */
  #secret(period: number): Uint8Array {
    let secret = this.#secrets.get(period);
    if (!secret) {
      secret = this.#random(RELAY_SECRET_LENGTH);
      this.#secrets.set(period, secret);
      const current = periodOf(this.#opts.clock.now() / 1000);
      for (const p of this.#secrets.keys()) if (p < current) this.#secrets.delete(p);
    }
    return secret;
  }
}

