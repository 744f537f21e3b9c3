// The UDP transport: Deno's own datagram socket where the runtime hands it out (udp_deno.ts; it
// needs the "net" unstable feature, which deno.json turns on), node:dgram otherwise (udp_node.ts).
import type { UdpSocket } from "./transport.ts";
import { denoDatagrams, DenoUdp } from "./udp_deno.ts";
import { NodeUdp } from "./udp_node.ts";

/** A bound IPv4 UDP socket. */
export type UdpTransport = UdpSocket;

export const UdpTransport = {
  /** Binds a UDP socket (IPv4); port 0 picks a free one. */
  bind(opts: { port?: number; host?: string } = {}): Promise<UdpTransport> {
    const listen = denoDatagrams();
    return listen ? DenoUdp.bind(listen, opts) : NodeUdp.bind(opts);
  },
};
