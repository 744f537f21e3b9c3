// A peer: ONE UDP socket shared by the DHT and chat sessions (PROTOCOL §6), so the address the DHT
// sees is the address sessions use, and NAT mappings made by DHT traffic serve sessions too.
// Datagrams starting with `d` (0x64, a bencoded dict) are KRPC; all others are session packets.
import { formatPublicKey, parsePublicKey, type Identity } from "./crypto/identity.ts";
import type { Address } from "./crypto/record.ts";
import {
  announce, Announcer, formatAddress, lookup,
  type AnnounceOptions, type AnnouncerOptions, type AnnounceResult, type LookupOptions, type LookupResult,
} from "./contact.ts";
import { DhtNode, type DhtState } from "./dht/node.ts";
import type { Clock, Transport } from "./dht/transport.ts";
import { UdpTransport } from "./dht/udp.ts";
import { ChatError } from "./errors.ts";
import { type Delivery, type IncomingMessage, SessionEndpoint } from "./wire/endpoint.ts";

const KRPC = 0x64;

export interface PeerOptions {
  identity: Identity;
  /** UDP port to bind (default 0: a free one). */
  port?: number;
  host?: string;
  /** DHT bootstrap nodes (default: the public Mainline routers); false for none. */
  bootstrap?: readonly Address[] | false;
  /** A saved routing table, for a fast start. */
  state?: DhtState;
  /** BEP 43 read-only: query the DHT but serve nobody, for short-lived clients such as `chat send`. */
  readOnly?: boolean;
  /** A transport to use instead of binding UDP (the simulator, tests). */
  transport?: Transport;
  clock?: Clock;
}

export interface SendOptions {
  /** Skip the lookup and send to this address. */
  address?: Address;
}

export interface Sent extends Delivery {
  to: string;
  /** Where the message went, and whether a DHT lookup found it. */
  address: Address;
  lookupMs: number;
}

export class Peer {
  readonly identity: Identity;
  readonly dht: DhtNode;
  readonly sessions: SessionEndpoint;
  private readonly _socket: Transport;
  private readonly _clock: Clock | undefined;
  private _announcer: Announcer | undefined;
  private _closed = false;

  private constructor(opts: PeerOptions, socket: Transport) {
    this.identity = opts.identity;
    this._socket = socket;
    this._clock = opts.clock;
    let toDht: (buf: Uint8Array, from: Address) => void = () => {};
    // The DHT sees a Transport of its own; only the dispatcher below touches the socket's handler.
    const dhtSide: Transport = {
      send: (buf, to) => socket.send(buf, to),
      onMessage: (cb) => void (toDht = cb),
      address: () => socket.address(),
      close: () => {},
    };
    this.dht = new DhtNode({
      transport: dhtSide,
      ...(opts.clock ? { clock: opts.clock } : {}),
      ...(opts.bootstrap === undefined ? {} : { bootstrap: opts.bootstrap }),
      ...(opts.state ? { state: opts.state } : {}),
      ...(opts.readOnly ? { readOnly: true } : {}),
    });
    this.sessions = new SessionEndpoint({
      identity: opts.identity,
      send: (buf, to) => socket.send(buf, to),
      ...(opts.clock ? { clock: () => opts.clock!.now(), timers: opts.clock } : {}),
    });
    socket.onMessage((buf, from) => {
      if (buf[0] === KRPC) toDht(buf, from);
      else this.sessions.receive(buf, from);
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
    return announce(this.dht, this.identity, opts);
  }

  /** Keeps our contact record published (every 30 minutes, and into the next period) until close. */
  keepAnnounced(opts: Omit<AnnouncerOptions, "clock"> = {}): Promise<AnnounceResult> {
    this._announcer?.stop();
    this._announcer = new Announcer(this.dht, this.identity, { ...opts, ...(this._clock ? { clock: this._clock } : {}) });
    return this._announcer.start();
  }

  /** Finds the addresses of a public key (z-base-32 or hex text, or its 32 bytes). */
  lookup(publicKey: string | Uint8Array, opts: LookupOptions = {}): Promise<LookupResult> {
    return lookup(this.dht, toKey(publicKey), opts);
  }

  /**
   * Sends one message: looks the key up (unless `address` is given or a session exists),
   * handshakes if needed, and resolves once the peer acknowledged it.
   */
  async send(publicKey: string | Uint8Array, text: string, opts: SendOptions = {}): Promise<Sent> {
    const key = toKey(publicKey);
    const to = formatPublicKey(key);
    const started = Date.now();
    if (opts.address) return { ...(await this.sessions.sendMessage(key, opts.address, text)), to, address: opts.address, lookupMs: 0 };
    if (this.sessions.hasSession(key)) {
      return { address: this.sessions.sessionAddress(key) as Address, ...(await this.sessions.reply(key, text)), to, lookupMs: 0 };
    }
    // The handshake starts with the first record that passes every check; the lookup goes on, and
    // its final answer (the highest seq) is tried only if that record's addresses do not answer.
    let first: (addresses: Address[]) => void = () => {};
    const early = new Promise<Address[]>((resolve) => (first = resolve));
    const settled = this.lookup(key, { onRecord: (r) => first(r.addresses) });
    settled.catch(() => {});
    const found = await Promise.race([early, settled.then((r) => (r.found ? r.addresses : []))]);
    const lookupMs = Date.now() - started;
    if (found.length === 0) {
      throw ChatError.failed("NOT_FOUND", `No contact record found for "${to}"`, "Is the peer running `chat listen`? Records live up to 2 hours");
    }
    const tried = new Set<string>();
    let last: unknown;
    for (const addresses of [found, settled.then((r) => (r.found ? r.addresses : []), () => [])]) {
      // A record lists addresses preferred first: try each until one answers the handshake.
      for (const address of await addresses) {
        if (tried.has(formatAddress(address))) continue;
        tried.add(formatAddress(address));
        try {
          return { ...(await this.sessions.sendMessage(key, address, text)), to, address, lookupMs };
        } catch (err) {
          last = err;
          if ((err as { reason?: string }).reason !== "HANDSHAKE_TIMEOUT") throw err;
        }
      }
    }
    throw last;
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

  /** Every message that arrives from now on, until `close()`. */
  messages(): AsyncIterableIterator<IncomingMessage> {
    return this.sessions.messages();
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<IncomingMessage> {
    return this.messages();
  }

  /** Closes every session (keys erased), stops announcing, and closes the socket. */
  close(): void {
    if (this._closed) return;
    this._closed = true;
    this._announcer?.stop();
    this.sessions.close();
    this.dht.destroy();
    this._socket.close();
  }
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
