/**
 * The session layer of chat/1 (PROTOCOL §6): IK handshakes, transport with replay protection,
 * framing, fragmentation and reliable delivery, behind one socket-agnostic `SessionEndpoint`.
 *
 * ```ts
 * import dgram from "node:dgram";
 * import { SessionEndpoint } from "./src/wire/mod.ts";
 *
 * const socket = dgram.createSocket("udp4");
 * const endpoint = new SessionEndpoint({
 *   identity, // { publicKey: Ed25519 A, x25519: { secretKey, publicKey } }
 *   send: (datagram, to) => socket.send(datagram, to.port, to.host),
 *   onMessage: (m) => console.log(m.text),
 * });
 * socket.on("message", (msg, rinfo) => {
 *   if (msg[0] !== 0x64) endpoint.receive(msg, { host: rinfo.address, port: rinfo.port }); // 'd' is KRPC
 * });
 * const { rttMs } = await endpoint.sendMessage(peerPublicKey, { host: "198.51.100.7", port: 6881 }, "hi");
 * ```
 * @module
 */
export {
  type Delivery,
  DeliveryError,
  type DeliveryFailure,
  type IncomingMessage,
  type MessagesOptions,
  SessionEndpoint,
  type SessionEndpointOptions,
  type Timers,
  type WireStats,
} from "./endpoint.ts";
export type { Address } from "./session.ts";
export type { WireIdentity } from "./handshake.ts";
export { DEFAULT_LIMITS, type WireLimits } from "./constants.ts";
