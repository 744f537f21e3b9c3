// A DHT node's socket that also relays (PROTOCOL §9): every chat/1 node with a public address
// answers `register` and forwards `relay` and `relay-back`. KRPC (`d`) goes to the DHT as before;
// §9 relay packets go to the relay; anything else goes to `other` (a Peer's sessions) or is dropped.
import type { Address, Clock, Transport } from "./dht/transport.ts";
import { TYPE_REGISTER, TYPE_RELAY, TYPE_RELAY_BACK, type RelayLimits } from "./wire/constants.ts";
import { Relay } from "./wire/relay.ts";
import { parseRelayPacket } from "./wire/relay_packets.ts";

const KRPC = 0x64;

/**
 * Whether a datagram is a KRPC response from a chat/1 node (`v` starting with `CH`, PROTOCOL §5):
 * a node that answered us, so a candidate relay. Dict keys are sorted, so a response of ours ends
 * `1:v4:CH‥1:y1:re` and only its last 16 bytes need a look (no decoding).
 */
export function fromChatNode(buf: Uint8Array): boolean {
  const at = buf.length - 16;
  return at >= 0 && TAIL.every((b, i) => b < 0 || buf[at + i] === b);
}
const TAIL = [..."1:v4:CH"].map((c) => c.charCodeAt(0)).concat(-1, -1, ...[..."1:y1:re"].map((c) => c.charCodeAt(0)));

export interface RelayingOptions {
  clock?: Clock;
  limits?: Partial<RelayLimits>;
  /** Datagrams that are neither KRPC nor relay requests (sessions, `registered`, `relayed`). */
  other?: (buf: Uint8Array, from: Address) => void;
  /** KRPC responses from chat/1 nodes: candidate relays for a listener. */
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
