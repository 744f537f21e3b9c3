// How a session's packets reach its peer (PROTOCOL §9 "Paths"): directly, or through a relay,
// wrapped in `relay` (we reached the peer by its tag) or `relay-back` (the peer reached us
// through a relay we are registered with). A session answers on the path of its latest
// authenticated packet, as WireGuard's roaming does with addresses.
import { ChatError } from "../errors.ts";
import { encodeRelay, encodeRelayBack } from "./relay_packets.ts";
import type { Address } from "../crypto/record.ts";

export type Path =
  | { readonly via: "direct"; readonly address: Address }
  | { readonly via: "relay"; readonly relay: Address; readonly tag: Uint8Array }
  | { readonly via: "relay-back"; readonly relay: Address; readonly peer: Address };

/** A relay of a contact record: where it is and the tag it forwards to the listener. */
export interface RelayRoute {
  readonly address: Address;
  readonly tag: Uint8Array;
}

/** Where a message may go: a peer's direct addresses and its relays (a record's `a` and `r`). */
export interface Route {
  readonly addresses: readonly Address[];
  readonly relays?: readonly RelayRoute[];
}

export const direct = (address: Address): Path => ({ via: "direct", address });

/** "direct" or "relayed", as `chat send` reports a delivery. */
export function pathKind(path: Path): "direct" | "relayed" {
  return path.via === "direct" ? "direct" : "relayed";
}

/** The datagram to send for `packet` on `path`, and where to. */
export function wrap(path: Path, packet: Uint8Array): { datagram: Uint8Array; to: Address } {
  switch (path.via) {
    case "direct":
      return { datagram: packet, to: path.address };
    case "relay":
      return { datagram: encodeRelay(path.tag, packet), to: path.relay };
    case "relay-back":
      return { datagram: encodeRelayBack(path.peer, packet), to: path.relay };
  }
}

export function sameAddress(a: Address, b: Address): boolean {
  return a.host === b.host && a.port === b.port;
}

/** RFC 1918 private ranges: addresses a peer on the same LAN reaches without the NAT. */
export function isPrivateIPv4(host: string): boolean {
  const [a, b] = host.split(".").map(Number) as [number, number];
  return a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168);
}

/**
 * The paths of a handshake's first attempt. A route with relays belongs to a listener behind NAT:
 * a direct copy to its public address would reach the listener's NAT before the listener's punch
 * and leave a conntrack entry there (sender → nat:port) that makes a Linux NAT move the punch to
 * another port, which the sender's NAT then drops. So the first attempt goes to the relays and the
 * LAN addresses only; the public address gets the session's first packets once the listener has
 * punched (the punch window), and every retry (docs/PROTOCOL.md §8).
 */
export function firstAttemptPaths(paths: readonly Path[]): Path[] {
  if (!paths.some((p) => p.via === "relay")) return [...paths];
  return paths.filter((p) => p.via !== "direct" || isPrivateIPv4(p.address.host));
}

/** The paths an initiation takes: every direct address and every relay, each once. */
export function routePaths(route: Route): Path[] {
  const paths: Path[] = [];
  for (const address of route.addresses) {
    if (!paths.some((p) => p.via === "direct" && sameAddress(p.address, address))) paths.push(direct(address));
  }
  for (const relay of route.relays ?? []) paths.push({ via: "relay", relay: relay.address, tag: relay.tag });
  return paths;
}

/** The relays among `paths`, as a route names them. */
export function relayRoutes(paths: readonly Path[]): RelayRoute[] {
  return paths.flatMap((p) => (p.via === "relay" ? [{ address: p.relay, tag: p.tag }] : []));
}

/** Where the punch goes after a relayed response: the route's direct addresses and where the relay saw the peer. */
export function punchAddresses(paths: readonly Path[], seen: Address): Address[] {
  const out = paths.flatMap((p) => (p.via === "direct" ? [p.address] : []));
  if (!out.some((a) => sameAddress(a, seen))) out.push(seen);
  return out;
}

/** An address or a route from the caller, checked and copied; a ChatError (exit 2) if malformed. */
export function checkRoute(to: Address | Route): Route {
  const route: Route = "addresses" in to ? to : { addresses: [to] };
  const addresses = route.addresses.map(checkAddress);
  const relays = (route.relays ?? []).map((r) => ({ address: checkAddress(r.address), tag: r.tag.slice() }));
  if (!addresses.length && !relays.length) {
    throw ChatError.input("BAD_ADDRESS", "Cannot send: the route has no address and no relay");
  }
  return { addresses, relays };
}

function checkAddress(to: Address): Address {
  if (!to || typeof to.host !== "string" || !Number.isInteger(to.port) || to.port < 1 || to.port > 65535) {
    throw ChatError.input("BAD_ADDRESS", `Cannot send to address ${JSON.stringify(to)}: expected {host, port}`);
  }
  return { host: to.host, port: to.port };
}
