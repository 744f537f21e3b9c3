// A DHT node's socket that also relays (PROTOCOL §9): every chat/1 node with a public address
// answers `register` and forwards `relay` and `relay-back`. KRPC (`d`) goes to the DHT as before;
// §9 relay packets go to the relay; anything else goes to `other` (a Peer's sessions) or is dropped.
import type { Address, Clock, Transport } from "./dht/transport.ts";
import { TYPE_REGISTER, TYPE_RELAY, TYPE_RELAY_BACK, type RelayLimits } from "./wire/constants.ts";
import { Relay } from "./wire/relay.ts";
import { parseRelayPacket } from "./wire/relay_packets.ts";

const KRPC = 0x64;

/** Whether a datagram is one of the KRPC messages of a chat/1 node (`v` starting with `CH`). */
export function fromChatNode(buf: Uint8Array): boolean {
  // Dict keys are sorted, so `v` comes right before `y`; its value starts `4:CH` (PROTOCOL §5).
  for (let i = buf.length - 16; i >= 0 && i > buf.length - 40; i--) {
    if (buf[i] === 0x31 && buf[i + 1] === 0x3a && buf[i + 2] === 0x76 && buf[i + 3] === 0x34 && buf[i + 4] === 0x3a &&
      buf[i + 5] === 0x43 && buf[i + 6] === 0x48) return true;
  }
  return false;
}

export interface RelayingOptions {
  clock?: Clock;
  limits?: Partial<RelayLimits>;
  /** Datagrams that are neither KRPC nor relay requests (sessions, `registered`, `relayed`). */
  other?: (buf: Uint8Array, from: Address) => void;
  /** KRPC datagrams from chat/1 nodes, as seen on the wire: candidate relays for a listener. */
  onChatNode?: (from: Address) => void;
}

export class RelayingTransport implements Transport {
  readonly relay: Relay;
  /** A listener behind NAT must not relay: senders could not reach it (PROTOCOL §9). */
  relaying = true;
  readonly #inner: Transport;
  #krpc: (buf: Uint8Array, from: Address) => void = () => {};

  constructor(inner: Transport, opts: RelayingOptions = {}) {
    this.#inner = inner;
    const clock = opts.clock;
    this.relay = new Relay({
      send: (buf, to) => inner.send(buf, to),
      ...(clock ? { clock: () => clock.now() } : {}),
      ...(opts.limits ? { limits: opts.limits } : {}),
    });
    inner.onMessage((buf, from) => {
      const type = buf[0];
      if (type === KRPC) {
        if (opts.onChatNode && fromChatNode(buf)) opts.onChatNode(from);
        this.#krpc(buf, from);
      } else if (type === TYPE_REGISTER || type === TYPE_RELAY || type === TYPE_RELAY_BACK) {
        const packet = this.relaying ? parseRelayPacket(buf) : null;
        if (packet) this.relay.receive(packet, from);
      } else {
        opts.other?.(buf, from);
      }
    });
  }

  send(buf: Uint8Array, to: Address): void {
    this.#inner.send(buf, to);
  }

  onMessage(cb: (buf: Uint8Array, from: Address) => void): void {
    this.#krpc = cb;
  }

  address(): Address {
    return this.#inner.address();
  }

  close(): void {
    this.#inner.close();
  }
}
