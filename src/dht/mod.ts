/**
 * A BitTorrent Mainline DHT node (BEP 5, BEP 44, BEP 42 ids and `ip` field) over any datagram
 * Transport: UDP, or an in-memory network on virtual time that holds 100,000 nodes.
 *
 * @example Join a local swarm, put a signed item, get it back
 * ```ts
 * import { ed25519 } from "@noble/curves/ed25519.js";
 * import { createTestnet, encode, bep44SignedBuffer, startNode } from "./mod.ts";
 *
 * const swarm = await createTestnet(20);
 * const node = await startNode({ host: "127.0.0.1", bootstrap: swarm.bootstrap });
 * await node.bootstrap();
 * const seed = crypto.getRandomValues(new Uint8Array(32));
 * const v = new TextEncoder().encode("hello");
 * const sig = ed25519.sign(bep44SignedBuffer({ seq: 1, v: encode(v) }), seed);
 * const { target } = await node.put({ k: ed25519.getPublicKey(seed), seq: 1, v, sig });
 * const { item } = await node.get(target); // item.v, item.seq, item.sig, item.raw
 * node.destroy();
 * swarm.destroy();
 * ```
 * @module
 */
export { type BDict, type BInput, type BValue, BencodeError, decode, encode, tryDecode } from "../bencode.ts";
export { ALPHA, BOOTSTRAP, ERR, K, LIMITS, type Limits } from "./constants.ts";
export { isLocal, nodeIdFor, validNodeId } from "./bep42.ts";
export { bep44SignedBuffer, immutableTarget, mutableTarget } from "../crypto/record.ts";
export { type Item, type PutItem, verifyItem } from "./item.ts";
export type { NodeInfo } from "./krpc.ts";
export type { LookupStats } from "./lookup.ts";
export {
  type AnnounceResult, DhtNode, type DhtOptions, type DhtState, type DhtStats, type GetOptions, type GetResult,
  type PeersResult, type PutResult,
} from "./node.ts";
export { QueryError } from "./rpc.ts";
export { SimNetwork, type SimOptions, SimTransport, VirtualClock } from "./sim.ts";
export type { Contact, TableRules } from "./table.ts";
export { createSimnet, createTestnet, type Simnet, startNode, type Testnet } from "./testnet.ts";
export { type Address, type Clock, systemClock, type Transport } from "./transport.ts";
export { UdpTransport } from "./udp.ts";
