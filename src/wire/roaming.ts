// Paths and roaming (PROTOCOL §6, §9): how a packet arrived — directly or through a relay — which
// path of a session or handshake that names, and moving a session to the path of its latest
// authenticated packet, as WireGuard's roaming does with addresses. It also knows the relays we are
// registered with: the only ones whose `relayed` packets may open a path back to us.
import { DIRECT_PREFERRED } from "./constants.ts";
import { direct, type Path, relayRoutes, sameAddress } from "./path.ts";
import type { Peers } from "./peer.ts";
import type { Sender } from "./send.ts";
import type { Address, Session } from "./session.ts";

/**
 * How a packet arrived: directly from an address, or inside a `relayed` from a relay, which names
 * the other end as it sees it (PROTOCOL §9).
 */
export type Arrival =
  | { readonly via: "direct"; readonly address: Address }
  | { readonly via: "relayed"; readonly relay: Address; readonly peer: Address };

/** The peer's address as an arrival shows it. */
export const peerAddress = (arrival: Arrival): Address => (arrival.via === "direct" ? arrival.address : arrival.peer);

export class Roaming {
  readonly #clock: () => number;
  readonly #peers: Peers;
  readonly #sender: Sender;
  /** The relays we are registered with: the only ones whose `relayed` initiations we answer. */
  #relays: readonly Address[] = [];

  constructor(clock: () => number, peers: Peers, sender: Sender) {
    this.#clock = clock;
    this.#peers = peers;
    this.#sender = sender;
  }

  useRelays(relays: readonly Address[]): void {
    this.#relays = relays.map((r) => ({ host: r.host, port: r.port }));
  }

  /** Whether `relay` is one we are registered with. */
  isOurRelay(relay: Address): boolean {
    return this.#relays.some((r) => sameAddress(r, relay));
  }

  /**
   * The path an arrival names: direct, or one of `relayPaths` (the relays we reached the peer by)
   * for the relay it came through, or `relay-back` through a relay we are registered with.
   * Undefined for a `relayed` from any other address.
   */
  pathOf(arrival: Arrival, relayPaths: readonly Path[]): Path | undefined {
    if (arrival.via === "direct") return direct(arrival.address);
    const ours = relayPaths.find((p) => p.via === "relay" && sameAddress(p.relay, arrival.relay));
    if (ours) return ours;
    return this.isOurRelay(arrival.relay) ? { via: "relay-back", relay: arrival.relay, peer: arrival.peer } : undefined;
  }

  /** Roaming (PROTOCOL §6, §9): the session answers on the path of its latest authenticated packet. */
  usePath(session: Session, path: Path, arrival: Arrival): void {
    const now = this.#clock();
    if (path.via !== "direct" && session.path.via === "direct" && now - session.lastDirect < DIRECT_PREFERRED) {
      return; // a relayed copy while the direct path works: stay direct (both paths carry copies)
    }
    const address = peerAddress(arrival);
    const moved = !sameAddress(address, session.address);
    const punched = path.via === "direct" && session.path.via !== "direct";
    session.path = path;
    session.address = address;
    if (path.via === "direct") {
      session.punch = [];
      session.lastDirect = now;
    }
    const peer = this.#peers.get(session.peer);
    // A new handshake goes where the peer is now, and to the relays we reached it by.
    if (peer && (moved || !peer.route)) peer.route = { addresses: [address], relays: relayRoutes(session.relayPaths) };
    // The punch worked: tell the peer at once with a direct packet, or it keeps answering relayed.
    if (punched && session.confirmed && session.alive) this.#sender.keepalive(session);
  }
}
