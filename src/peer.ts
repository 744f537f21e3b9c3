// A peer: ONE UDP socket shared by the DHT, chat sessions and relaying (PROTOCOL §6, §9), so the
// address the DHT sees is the address sessions use, and NAT mappings made by DHT traffic serve
// sessions too. Datagrams starting with `d` (0x64, a bencoded dict) are KRPC; `register`, `relay`
// and `relay-back` go to our relay; `registered` to our registrations; all others to sessions.
import { formatPublicKey, parsePublicKey, type Identity } from "./crypto/identity.ts";
import type { Address, RelayEntry } from "./crypto/record.ts";
import {
  announce, Announcer, formatAddress, lookup,
  type AnnounceOptions, type AnnouncerOptions, type AnnounceResult, type LookupOptions, type LookupResult,
} from "./contact.ts";
import { DhtNode, type DhtState } from "./dht/node.ts";
import { addressKey, type Clock, systemClock, type Transport } from "./dht/transport.ts";
import { UdpTransport } from "./dht/udp.ts";
import { ChatError } from "./errors.ts";
import { behindNat, lanAddresses, REGISTER_EVERY, RelayRegistrations, type RelayState, resolveRelays } from "./nat.ts";
import { RelayingTransport } from "./relaying.ts";
import { TYPE_REGISTERED } from "./wire/constants.ts";
import { type Delivery, type IncomingMessage, type MessagesOptions, type Route, SessionEndpoint } from "./wire/endpoint.ts";

/** Chat nodes met on the DHT that a listener behind NAT may ask to relay (newest last). */
const CHAT_NODES_KEPT = 32;
/** How long a listener behind NAT waits for its relays before it publishes its first record. */
const FIRST_RELAY_WAIT = 3_000;

export interface PeerOptions {
  identity: Identity;
  /** UDP port to bind (default 0: a free one). */
  port?: number;
  host?: string;
  /** DHT bootstrap nodes (default: the public Mainline routers); false for none. */
  bootstrap?: readonly Address[] | false;
  /** A saved routing table, for a fast start. */
  state?: DhtState;
  /**
   * BEP 43 read-only for good: query the DHT but serve nobody, for short-lived clients such as
   * `chat send`. Otherwise the peer is read-only only until `keepAnnounced()` finds a public address.
   */
  readOnly?: boolean;
  /** A transport to use instead of binding UDP (the simulator, tests). */
  transport?: Transport;
  clock?: Clock;
  /** Relays to register with when behind NAT (PROTOCOL §9), tried before chat nodes of the DHT. */
  relays?: readonly Address[];
  /** Whether we are behind NAT; by default detected from the address the DHT sees. */
  behindNat?: boolean;
  /**
   * Behind NAT, milliseconds of silence after which a session sends a keepalive and a relay
   * registration is renewed (default 25 s and 20 s, PROTOCOL §9): set it below the NAT's UDP
   * timeout, as WireGuard's PersistentKeepalive.
   */
  keepalive?: number;
}

/** What a peer learned of its NAT (PROTOCOL §9), as `chat listen` prints it. */
export interface NatEvent {
  behindNat: boolean;
  /** Our address as the network sees it, when known. */
  publicAddress: Address | null;
}

export interface KeepAnnouncedOptions extends Omit<AnnouncerOptions, "clock" | "relays"> {
  onNat?: (event: NatEvent) => void;
  onRelay?: (relay: Address, state: RelayState) => void;
}

export interface SendOptions {
  /** Skip the lookup and send to this address. */
  address?: Address;
}

export interface Sent extends Delivery {
  to: string;
  /** Where the session's packets come from: the peer's address, as far as we can see it. */
  address: Address;
  lookupMs: number;
}

export class Peer {
  readonly identity: Identity;
  readonly dht: DhtNode;
  readonly sessions: SessionEndpoint;
  private readonly _socket: RelayingTransport;
  private readonly _opts: PeerOptions;
  private readonly _clock: Clock | undefined;
  private readonly _chatNodes = new Map<string, Address>();
  private _registrations: RelayRegistrations | undefined;
  private _announcer: Announcer | undefined;
  private _closed = false;

  private constructor(opts: PeerOptions, socket: Transport) {
    this.identity = opts.identity;
    this._opts = opts;
    this._clock = opts.clock;
    this._socket = new RelayingTransport(socket, {
      ...(opts.clock ? { clock: opts.clock } : {}),
      other: (buf, from) => {
        if (buf[0] === TYPE_REGISTERED) this._registrations?.receive(buf, from);
        else this.sessions.receive(buf, from);
      },
      onChatNode: (from) => this._metChatNode(from),
    });
    // Until keepAnnounced() knows we have a public address, the DHT is read-only (BEP 43) and we
    // relay for nobody: a node behind NAT must not be in routing tables (docs/PROTOCOL.md §8).
    this._socket.relaying = false;
    this.dht = new DhtNode({
      transport: this._socket,
      ...(opts.clock ? { clock: opts.clock } : {}),
      ...(opts.bootstrap === undefined ? {} : { bootstrap: opts.bootstrap }),
      ...(opts.state ? { state: opts.state } : {}),
      readOnly: true,
    });
    this.sessions = new SessionEndpoint({
      identity: opts.identity,
      send: (buf, to) => socket.send(buf, to),
      ...(opts.clock ? { clock: () => Math.floor(opts.clock!.now()), timers: opts.clock } : {}),
      ...(opts.keepalive ? { keepalive: opts.keepalive } : {}),
    });
  }

  /** Binds the socket (unless a transport is given) and starts the DHT node; call `bootstrap()` to join. */
  static async open(opts: PeerOptions): Promise<Peer> {
    const socket = opts.transport ?? (await bind(opts));
    return new Peer(opts, socket);
  }

  get publicKey(): string {
    return formatPublicKey(this.identity.publicKey);
  }

  address(): Address {
    return this._socket.address();
  }

  /** Joins the DHT; throws ChatError.network (exit 3) if no bootstrap node answered. */
  async bootstrap(): Promise<void> {
    await this.dht.bootstrap();
  }

  /** Publishes our contact record once (PROTOCOL §4). */
  announce(opts: AnnounceOptions = {}): Promise<AnnounceResult> {
    const clock = this._clock;
    return announce(this.dht, this.identity, { ...(clock ? { now: () => clock.now() } : {}), ...opts });
  }

  /** The relay this peer runs for others (PROTOCOL §9): its counters. */
  get relay() {
    return this._socket.relay;
  }

  /**
   * Keeps our contact record published (every 30 minutes, and into the next period) until close.
   * Behind NAT (PROTOCOL §9) it first registers with two relays, publishes them in the record with
   * our LAN addresses, keeps them alive and republishes when they change; it stops relaying for others.
   */
  async keepAnnounced(opts: KeepAnnouncedOptions = {}): Promise<AnnounceResult> {
    const { onNat, onRelay, ...announcerOpts } = opts;
    this._announcer?.stop();
    this._registrations?.stop();
    const clock = this._clock ?? systemClock;
    // What we publish needs the vote's clear majority (externalAddress); whether we are behind NAT
    // only needs the most reported address: a wrong "yes" costs relays, not reachability.
    const seen = this.dht.externalAddress() ?? this.dht.addressVotes()[0]?.address ?? null;
    const nat = this._opts.behindNat ?? behindNat(seen, this.address()) ?? false;
    onNat?.({ behindNat: nat, publicAddress: seen });
    const serve = !this._opts.readOnly && !nat;
    this.dht.readOnly = !serve;
    this._socket.relaying = serve;
    this.sessions.behindNat = nat;
    let relays: ((period: number) => RelayEntry[]) | undefined;
    let firstRelay: Promise<void> = Promise.resolve();
    if (nat) {
      let publicAddress = this.dht.externalAddress();
      let ready: () => void = () => {};
      firstRelay = new Promise((resolve) => (ready = resolve));
      const registrations = new RelayRegistrations({
        send: (buf, to) => this._socket.send(buf, to),
        clock,
        ...(this._opts.relays ? { named: await resolveRelays(this._opts.relays) } : {}),
        candidates: () => [...this._chatNodes.values()],
        ...(this._opts.keepalive ? { every: Math.min(REGISTER_EVERY, this._opts.keepalive) } : {}),
        onChange: (relay, state, seenAs) => {
          if (seenAs && !publicAddress) publicAddress = seenAs;
          this.sessions.useRelays(registrations.relays);
          onRelay?.(relay, state);
          if (registrations.complete) ready();
          this._announcer?.republish();
        },
      });
      this._registrations = registrations;
      relays = (period) => registrations.entries(period);
      announcerOpts.addresses ??= () => {
        const own = this.dht.externalAddress() ?? publicAddress;
        return [...(own ? [own] : []), ...lanAddresses(this.address())];
      };
      registrations.start();
      await Promise.race([firstRelay, new Promise<void>((r) => clock.setTimeout(() => r(), FIRST_RELAY_WAIT))]);
    }
    this._announcer = new Announcer(this.dht, this.identity, {
      ...announcerOpts,
      ...(relays ? { relays } : {}),
      ...(this._clock ? { clock: this._clock } : {}),
    });
    return this._announcer.start();
  }

  /** Finds the addresses of a public key (z-base-32 or hex text, or its 32 bytes). */
  lookup(publicKey: string | Uint8Array, opts: LookupOptions = {}): Promise<LookupResult> {
    const clock = this._clock;
    return lookup(this.dht, toKey(publicKey), { ...(clock ? { now: () => clock.now() } : {}), ...opts });
  }

  /**
   * Sends one message: looks the key up (unless `address` is given or a session exists),
   * handshakes if needed (directly and through the record's relays at once, PROTOCOL §9), and
   * resolves once the peer acknowledged it.
   */
  async send(publicKey: string | Uint8Array, text: string, opts: SendOptions = {}): Promise<Sent> {
    const key = toKey(publicKey);
    const to = formatPublicKey(key);
    if (opts.address) return { ...(await this.sessions.sendMessage(key, opts.address, text)), to, address: opts.address, lookupMs: 0 };
    if (this.sessions.hasSession(key)) {
      return { address: this.sessions.sessionAddress(key) as Address, ...(await this.sessions.reply(key, text)), to, lookupMs: 0 };
    }
    // The handshake starts with the first record that passes every check, and the lookup ends
    // there: going on for the highest seq would compete with the handshake for this thread. Only
    // if that record's route does not answer (a peer that moved since) is the key looked up in
    // full, and its highest seq tried.
    const started = performance.now();
    const found = await this.lookup(key, { first: true });
    const lookupMs = performance.now() - started;
    if (!found.found) {
      throw ChatError.failed("NOT_FOUND", `No contact record found for "${to}"`, "Is the peer running `chat listen`? Records live up to 2 hours");
    }
    const deliver = async (r: Route): Promise<Sent> => {
      const delivery = await this.sessions.sendMessage(key, r, text);
      return { ...delivery, to, address: this.sessions.sessionAddress(key) ?? r.addresses[0] ?? r.relays![0]!.address, lookupMs };
    };
    try {
      return await deliver(found);
    } catch (err) {
      if ((err as { reason?: string }).reason !== "HANDSHAKE_TIMEOUT") throw err;
      const latest = await this.lookup(key).then((r) => (r.found ? r : undefined), () => undefined);
      if (!latest || sameRoute(latest, found)) throw err;
      return await deliver(latest);
    }
  }

  /**
   * Replies to a peer: on its session while there is one, else as `send` does, by looking its key
   * up (a `chat send` closes its session once its messages are acknowledged).
   */
  async reply(publicKey: string | Uint8Array, text: string): Promise<Delivery> {
    const key = toKey(publicKey);
    if (this.sessions.hasSession(key)) {
      try {
        return await this.sessions.reply(key, text);
      } catch (err) {
        if ((err as { reason?: string }).reason !== "SESSION_CLOSED") throw err;
      }
    }
    return this.send(key, text);
  }

  /** Every message that arrives from now on, until `close()`; acked as it is taken (see SessionEndpoint). */
  messages(options?: MessagesOptions): AsyncIterableIterator<IncomingMessage> {
    return this.sessions.messages(options);
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<IncomingMessage> {
    return this.messages();
  }

  /** Closes every session (keys erased), stops announcing, and closes the socket. */
  close(): void {
    if (this._closed) return;
    this._closed = true;
    this._announcer?.stop();
    this._registrations?.stop();
    this.sessions.close();
    this.dht.destroy();
    this._socket.close();
  }

  /** Remembers a chat node met on the DHT (bounded, newest last): a relay candidate. */
  private _metChatNode(from: Address): void {
    const key = addressKey(from);
    this._chatNodes.delete(key);
    this._chatNodes.set(key, from);
    for (const oldest of this._chatNodes.keys()) {
      if (this._chatNodes.size <= CHAT_NODES_KEPT) break;
      this._chatNodes.delete(oldest);
    }
  }
}

function sameRoute(a: Route, b: Route): boolean {
  const text = (r: Route) => [...r.addresses.map(formatAddress), ...(r.relays ?? []).map((e) => formatAddress(e.address))].join(",");
  return text(a) === text(b);
}

function toKey(publicKey: string | Uint8Array): Uint8Array {
  return typeof publicKey === "string" ? parsePublicKey(publicKey) : publicKey;
}

async function bind(opts: PeerOptions): Promise<Transport> {
  try {
    return await UdpTransport.bind({ port: opts.port ?? 0, ...(opts.host ? { host: opts.host } : {}) });
  } catch (err) {
    throw ChatError.input("CANNOT_BIND", `Cannot bind UDP port ${opts.port ?? 0}: ${(err as Error).message}`, "Choose another --port, or omit it for a free one");
  }
}
