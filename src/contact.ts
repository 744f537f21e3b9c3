/**
 * Contact records on the DHT (PROTOCOL §4), the layer above `dht` and `crypto`: `announce`
 * publishes an identity's blinded, encrypted record for the current period (and for the next one
 * during a period's last 10 minutes), `lookup` finds and opens the record of a public key, and an
 * `Announcer` keeps a record published while it runs.
 *
 * What the DHT sees: a target SHA-1(A'), the blinded key A', a ciphertext, a signature, and `seq`
 * (the announcer's clock). A' changes every period and reveals A only to whoever already knows A.
 * What it cannot hide: the IP address that puts the record, as for any DHT client.
 *
 * @example
 * ```ts
 * const result = await announce(dht, identity);            // { stored: 8, target, seq, … }
 * const found = await lookup(dht, parsePublicKey(friend));  // { found: true, addresses: […] }
 * ```
 * @module
 */
import { bytesToHex } from "@noble/hashes/utils.js";
import { PERIOD, periodOf } from "./crypto/blind.ts";
import { formatPublicKey, type Identity } from "./crypto/identity.ts";
import {
  type Address, MAX_ADDRESSES, type OpenedRecord, openRecord, recordLookup, type RecordContent, type RecordRejection, type RelayEntry, sealRecord,
} from "./crypto/record.ts";
import { ERR } from "./dht/constants.ts";
import type { Item } from "./dht/item.ts";
import type { DhtNode } from "./dht/node.ts";
import { type Clock, systemClock } from "./dht/transport.ts";
import { ChatError } from "./errors.ts";

/** PROTOCOL §4: republish every 30 minutes (BEP 44 items may expire after 2 hours). */
export const REPUBLISH_EVERY = 30 * 60_000;
/** PROTOCOL §4: during the last 10 minutes of a period, also publish under p + 1. */
export const OVERLAP = 10 * 60;
/** After a publication that no node stored (or that threw), the Announcer tries again this soon. */
export const RETRY_AFTER = 60_000;

/** What the contact layer needs of a DHT node: BEP 44 get and put, and our address. */
export type ContactDht = Pick<DhtNode, "get" | "put" | "address" | "externalAddress">;

export interface AnnounceOptions {
  /**
   * Where the identity accepts sessions, preferred first (at most 8). Default: the address the DHT
   * reports for us (the majority of the BEP 42 `ip` fields of recent replies, its port being the
   * one a NAT maps to our socket), else our bound address (`127.0.0.1` if bound to every interface).
   */
  addresses?: readonly Address[];
  /** The relays that reach us behind NAT, with each period's tag (PROTOCOL §9 `r`); none by default. */
  relays?: (period: number) => RelayEntry[];
  /** Unix time in milliseconds (default `Date.now`): injectable to test periods and clock skew. */
  now?: () => number;
}

/** One period's publication. */
export interface PeriodAnnouncement {
  period: number;
  /** The DHT target SHA-1(A'), hex. */
  target: string;
  seq: number;
  /** Nodes that confirmed storing the record. */
  stored: number;
  /** Nodes that refused it (their BEP 44 error). */
  refused: number;
}

export interface AnnounceResult {
  publicKey: string;
  /** The current period p, its target and how many nodes stored it. */
  period: number;
  target: string;
  stored: number;
  seq: number;
  addresses: Address[];
  /** The relays of the current period's record (PROTOCOL §9). */
  relays: Address[];
  /** Unix seconds written into the record (`t`). */
  announcedAt: number;
  /** Every period published: p, and p + 1 during the last 10 minutes of p. */
  periods: PeriodAnnouncement[];
  ms: number;
}

/**
 * The last seq published per blinded key, keyed by public key and period (which determine A').
 * PROTOCOL §4: a seq must exceed every seq published before under the same A', even when two
 * publications fall in one second or the clock steps back.
 */
const lastSeq = new Map<string, { period: number; seq: number }>();

function nextSeq(identity: Identity, period: number, nowSeconds: number): number {
  const seq = Math.max(nowSeconds, (lastSeq.get(seqKey(identity, period))?.seq ?? -1) + 1);
  remember(identity, period, seq);
  return seq;
}

const seqKey = (identity: Identity, period: number) => `${bytesToHex(identity.publicKey)}:${period}`;

function remember(identity: Identity, period: number, seq: number): void {
  lastSeq.set(seqKey(identity, period), { period, seq });
  // A period's key is never used again once it is over: forget those.
  for (const [k, v] of lastSeq) if (v.period < period - 1) lastSeq.delete(k);
}

/** The default addresses of {@link AnnounceOptions.addresses}. */
export function ownAddresses(dht: Pick<ContactDht, "address" | "externalAddress">): Address[] {
  const external = dht.externalAddress();
  if (external) return [external];
  const bound = dht.address();
  const unspecified = bound.host === "0.0.0.0" || bound.host === "::";
  return [{ host: unspecified ? "127.0.0.1" : bound.host, port: bound.port }];
}

/** An address as text: `ip:port`, IPv6 in brackets (`[2001:db8::1]:443`). */
export function formatAddress(address: Address): string {
  return address.host.includes(":") ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

/** The periods to publish at `nowSeconds`: p, and p + 1 in the last OVERLAP seconds of p. */
export function announcePeriods(nowSeconds: number): number[] {
  const p = periodOf(nowSeconds);
  return nowSeconds >= (p + 1) * PERIOD - OVERLAP ? [p, p + 1] : [p];
}

/**
 * Publishes the contact record of `identity` (PROTOCOL §4): for each period of
 * {@link announcePeriods}, a BEP 44 get collects write tokens and the record goes to the closest
 * nodes that gave one. `stored` is for the current period; 0 means nobody took it.
 */
export async function announce(dht: ContactDht, identity: Identity, opts: AnnounceOptions = {}): Promise<AnnounceResult> {
  const now = opts.now ?? Date.now;
  const started = now();
  const addresses = opts.addresses ? [...opts.addresses] : ownAddresses(dht);
  if (addresses.length === 0 || addresses.length > MAX_ADDRESSES) {
    throw new RangeError(`A record holds 1 to ${MAX_ADDRESSES} addresses, got ${addresses.length}`);
  }
  const t = Math.floor(started / 1000);
  const periods = await Promise.all(
    announcePeriods(t).map((p) => publish(dht, identity, p, { addresses, relays: opts.relays?.(p) ?? [], t })),
  );
  const current = periods[0]!;
  return {
    publicKey: formatPublicKey(identity.publicKey),
    period: current.period,
    target: current.target,
    stored: current.stored,
    seq: current.seq,
    addresses,
    relays: (opts.relays?.(current.period) ?? []).map((r) => r.address),
    announcedAt: t,
    periods,
    ms: now() - started,
  };
}

async function publish(dht: ContactDht, identity: Identity, period: number, content: RecordContent): Promise<PeriodAnnouncement> {
  const put = (seq: number) => {
    const { target, ...item } = sealRecord(identity, period, content, seq);
    return dht.put(item);
  };
  let seq = nextSeq(identity, period, content.t);
  let result = await put(seq);
  // 302: a node holds a higher seq under this A', from an earlier run whose clock was ahead.
  // Only we can sign under A', so the highest valid seq on the DHT is ours: go one above it.
  if (result.errors.some((e) => e.code === ERR.seqTooLow)) {
    const current = (await dht.get(result.target)).item?.seq;
    if (current !== undefined && current >= seq) {
      seq = Number(current) + 1;
      remember(identity, period, seq);
      result = await put(seq);
    }
  }
  return { period, target: bytesToHex(result.target), seq, stored: result.stored.length, refused: result.errors.length };
}

export interface LookupOptions {
  /** Unix time in milliseconds (default `Date.now`): injectable to test periods and clock skew. */
  now?: () => number;
  /**
   * End at the first record that passes every acceptance check instead of looking on for the
   * highest seq: a sender handshakes at once, and looks again only if that route does not answer.
   */
  first?: boolean;
}

interface LookupCommon {
  publicKey: string;
  /** The periods queried, in order: p, then p − 1, then p + 1, stopping at the first valid record. */
  periods: number[];
  /** DHT nodes queried, over every period tried. */
  queried: number;
  /** Records dropped: failed a BEP 44 check (target, signature) or a record check (below). */
  rejected: number;
  /** Why records that passed the BEP 44 checks were dropped (PROTOCOL §4 "Accepting a record"). */
  reasons: Partial<Record<RecordRejection, number>>;
  ms: number;
}

export interface LookupFound extends LookupCommon {
  found: true;
  /** Where the identity accepts sessions, preferred first. */
  addresses: Address[];
  /** Relays that reach it behind NAT, with their tags (PROTOCOL §9). */
  relays: RelayEntry[];
  /** Unix seconds of the announcement (the record's `t`). */
  announcedAt: number;
  seq: number;
  /** The period whose record was found. */
  period: number;
}

export interface LookupNotFound extends LookupCommon {
  found: false;
}

export type LookupResult = LookupFound | LookupNotFound;

/**
 * Finds the contact record of `publicKey` (PROTOCOL §4): a BEP 44 get on SHA-1(A') for period p,
 * then p − 1, then p + 1. Every answer goes through the acceptance checks of `openRecord` (key,
 * size, signature, decryption, `t` within [now − 2 h, now + 5 min]); the highest valid seq wins,
 * and anything else is dropped and counted, never returned. Throws ChatError.network (exit 3)
 * if no node answered at all. A DHT node with an empty table starts from its bootstrap list, so
 * a one-shot lookup needs no `bootstrap()` first.
 */
export async function lookup(dht: Pick<ContactDht, "get">, publicKey: Uint8Array, opts: LookupOptions = {}): Promise<LookupResult> {
  const now = opts.now ?? Date.now;
  const started = now();
  const p = periodOf(started / 1000);
  const common: LookupCommon = { publicKey: formatPublicKey(publicKey), periods: [], queried: 0, rejected: 0, reasons: {}, ms: 0 };
  for (const period of [p, p - 1, p + 1]) {
    if (period < 0) continue;
    common.periods.push(period);
    const found = await lookupPeriod(dht, publicKey, period, now, common, opts.first === true);
    if (found) {
      return {
        found: true, ...common, addresses: found.addresses, relays: found.relays, announcedAt: found.t, seq: Number(found.seq), period, ms: now() - started,
      };
    }
  }
  return { found: false, ...common, ms: now() - started };
}

async function lookupPeriod(
  dht: Pick<ContactDht, "get">, publicKey: Uint8Array, period: number, now: () => number, tally: LookupCommon,
  first: boolean,
): Promise<OpenedRecord | undefined> {
  const context = recordLookup(publicKey, period);
  const opened = new WeakMap<Item, OpenedRecord>();
  const open = (item: Item): OpenedRecord | undefined => {
    const { k, seq, sig, v } = item;
    const result = k && sig && seq !== undefined && v instanceof Uint8Array
      // DhtNode.get verified the signature under k (crypto's `verify`) before calling validate.
      ? openRecord(context, { k, seq, sig, v }, now() / 1000, { signatureVerified: true })
      : { ok: false as const, reason: "malformed" as const };
    if (result.ok) return result;
    tally.reasons[result.reason] = (tally.reasons[result.reason] ?? 0) + 1;
    return undefined;
  };
  const result = await dht.get(context.target, {
    validate: (item) => {
      const record = open(item);
      if (record) opened.set(item, record);
      return record !== undefined;
    },
    first,
  });
  tally.queried += result.stats.queries;
  tally.rejected += result.rejected;
  // Nobody answered the first get: with no network, p − 1 and p + 1 would only time out too.
  if (result.stats.responses === 0 && tally.periods.length === 1) {
    throw ChatError.network("No DHT node answered the lookup", "Check the network, or pass --bootstrap host:port of a reachable node");
  }
  return result.item ? (opened.get(result.item) ?? open(result.item)) : undefined;
}

export interface AnnouncerOptions {
  /** Fixed addresses, or a function asked at each publication; by default the DHT's current view of ours. */
  addresses?: readonly Address[] | (() => Address[]);
  /** The relays of each period's record (see {@link AnnounceOptions.relays}). */
  relays?: (period: number) => RelayEntry[];
  /** How often to republish, in ms (default 30 minutes). */
  every?: number;
  /** Wall time (unix ms) and timers (default: the system clock). */
  clock?: Clock;
  /** Called after each publication, including ones no node stored (`stored: 0`). */
  onAnnounce?: (result: AnnounceResult) => void;
  /** Called when a publication throws; the Announcer tries again after RETRY_AFTER. */
  onError?: (error: unknown) => void;
}

/**
 * Keeps a contact record published: at once, then every `every` ms (30 minutes), and always once
 * inside the last 10 minutes of each period so that the next period's record exists before it
 * starts. A publication that no node stored is retried after a minute.
 */
export class Announcer {
  readonly dht: ContactDht;
  readonly identity: Identity;
  private readonly _opts: AnnouncerOptions;
  private readonly _clock: Clock;
  private readonly _every: number;
  private _first: Promise<AnnounceResult> | undefined;
  private _timer: unknown = null;
  private _stopped = false;

  constructor(dht: ContactDht, identity: Identity, opts: AnnouncerOptions = {}) {
    this.dht = dht;
    this.identity = identity;
    this._opts = opts;
    this._clock = opts.clock ?? systemClock;
    this._every = opts.every ?? REPUBLISH_EVERY;
    if (!(this._every > 0)) throw new RangeError(`"every" expected a positive number of ms, got ${this._every}`);
  }

  /** Publishes now and keeps publishing; resolves with the first publication (rejects if it throws). */
  start(): Promise<AnnounceResult> {
    this._first ??= this._publish(true);
    return this._first;
  }

  /** Publishes again now (our addresses or relays changed), then on the usual schedule. */
  republish(): void {
    if (!this.running) return;
    this._clock.clearTimeout(this._timer);
    this._timer = null;
    this._publish(false).catch(() => {});
  }

  /** Stops republishing (a publication in flight completes, but is not reported). */
  stop(): void {
    this._stopped = true;
    this._clock.clearTimeout(this._timer);
    this._timer = null;
  }

  get running(): boolean {
    return this._first !== undefined && !this._stopped;
  }

  /** When to publish next, after a publication at `at` (unix ms). */
  nextAfter(at: number, stored: boolean): number {
    if (!stored) return at + Math.min(RETRY_AFTER, this._every);
    const next = at + this._every;
    const seconds = at / 1000;
    const windowStart = ((periodOf(seconds) + 1) * PERIOD - OVERLAP) * 1000;
    return at < windowStart && next > windowStart ? windowStart : next;
  }

  /** One publication; the first one's failure rejects `start()`, later ones go to `onError`. */
  private async _publish(first: boolean): Promise<AnnounceResult> {
    const at = this._clock.now();
    try {
      const { addresses, relays } = this._opts;
      const result = await announce(this.dht, this.identity, {
        now: () => this._clock.now(),
        ...(addresses ? { addresses: typeof addresses === "function" ? addresses() : addresses } : {}),
        ...(relays ? { relays } : {}),
      });
      if (!this._stopped) {
        this._schedule(this.nextAfter(at, result.stored > 0));
        this._opts.onAnnounce?.(result);
      }
      return result;
    } catch (err) {
      if (!this._stopped) {
        this._schedule(this.nextAfter(at, false));
        if (!first) this._opts.onError?.(err);
      }
      throw err;
    }
  }

  private _schedule(at: number): void {
    this._timer = this._clock.setTimeout(() => {
      this._timer = null;
      if (!this._stopped) this._publish(false).catch(() => {});
    }, Math.max(0, at - this._clock.now()));
  }
}
