// Shared pieces of the attack suites (test/attack_*.test.ts): endpoints at any loopback address of
// the simulated network, fresh identities by the thousand, a legitimate sender that must get
// through, and the memory bound every attack states. On loopback the whole 127.0.0.0/8 stands in for
// distinct hosts: 127.0.1.x and 127.0.2.x are different /24 groups (fairness.ts), 127.0.1.1 and
// 127.0.1.2 different IPs of one group.
import * as assert from "uvu/assert";
import { identityFromSeed, type Identity } from "../src/crypto/identity.ts";
import { type Address, type IncomingMessage, SessionEndpoint, type SessionEndpointOptions } from "../src/wire/endpoint.ts";
import { prng, seededBytes, type SimNet, track } from "./_wire_sim.ts";

/** Fresh identities from a seeded generator: free for an attacker, so never a unit of fairness. */
export function identities(seed: number): () => Identity {
  const bytes = seededBytes(seed);
  return () => identityFromSeed(bytes(32));
}

export interface At {
  identity: Identity;
  address: Address;
  endpoint: SessionEndpoint;
  inbox: IncomingMessage[];
}

/** An endpoint with `identity` at `address` on `net`, collecting what it receives. */
export function at(net: SimNet, identity: Identity, address: Address, extra: Partial<SessionEndpointOptions> = {}): At {
  const inbox: IncomingMessage[] = [];
  const random = prng(address.port * 131 + Number(address.host.split(".").at(-1)));
  const endpoint = new SessionEndpoint({
    identity,
    send: net.sender(address),
    clock: net.time.clock,
    timers: net.time.timers,
    random: (n) => Uint8Array.from({ length: n }, () => Math.floor(random() * 256)),
    onMessage: (m) => inbox.push(m),
    ...extra,
  });
  net.attach(address, (data, from) => endpoint.receive(data, from));
  return { identity, address, endpoint, inbox };
}

/** Sends `text` from `from` to `to` and waits (virtual time) for the outcome: true if acked. */
export async function delivers(net: SimNet, from: At, to: At, text: string, limit = 15_000): Promise<boolean> {
  const sent = track(from.endpoint.sendMessage(to.identity.publicKey, to.address, text));
  await net.time.until(() => sent.done, limit);
  return sent.value !== undefined;
}

/** Every attack states its memory bound: the resident size of the whole test process. */
export const RSS_BOUND_MB = 768;

export function assertMemoryBounded(what: string): void {
  const rss = process.memoryUsage().rss / 2 ** 20;
  assert.ok(rss < RSS_BOUND_MB, `${what}: RSS ${rss.toFixed(0)} MB, bound ${RSS_BOUND_MB} MB`);
}
