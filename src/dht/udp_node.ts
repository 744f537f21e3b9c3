// The UDP transport on node:dgram: Node's, and Deno's where it lacks its own (udp_deno.ts).
import dgram from "node:dgram";
import dns from "node:dns";
import { isIPv4 } from "node:net";
import type { Address, UdpSocket } from "./transport.ts";

/**
 * An IP literal is answered at once: dgram's default lookup calls back a tick later, so every
 * datagram (nearly all go to literals) would leave after the code that sent it has run on.
 */
function literalLookup(host: string, options: dns.LookupOneOptions, cb: (err: NodeJS.ErrnoException | null, address: string, family: number) => void): void {
  if (isIPv4(host)) return cb(null, host, 4);
  dns.lookup(host, options, cb);
}

/**
 * The receive buffer asked for: a burst of a session's send window (wire/constants.ts: up to 256
 * datagrams of ~1.2 KB, ~2.3 KB each as the kernel counts them) must fit, with room for the DHT's
 * traffic. WireGuard and quic-go ask for 7 MiB; Linux grants at most net.core.rmem_max (208 KiB
 * by default), and a smaller buffer only means a smaller window (the sender halves it on a loss).
 */
const RECV_BUFFER = 4 << 20;

export class NodeUdp implements UdpSocket {
  readonly kind = "node:dgram";
  private readonly _socket: dgram.Socket;
  private _closed = false;

  private constructor(socket: dgram.Socket) {
    this._socket = socket;
    // UDP is lossy anyway: an ICMP error or a full buffer must not crash the node.
    socket.on("error", () => {});
  }

  static bind(opts: { port?: number; host?: string }): Promise<NodeUdp> {
    // Not on Deno: its node:dgram slows down with a larger buffer, by the option or by
    // setRecvBufferSize after binding alike (asked for 4 MiB, a session received 1,400–1,700
    // messages/s instead of 16,000 on Deno 2.9), so there the system's default stays.
    const buffer = "Deno" in globalThis ? {} : { recvBufferSize: RECV_BUFFER };
    const socket = dgram.createSocket({ type: "udp4", lookup: literalLookup, ...buffer });
    return new Promise((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(opts.port ?? 0, opts.host ?? "0.0.0.0", () => {
        socket.off("error", reject);
        resolve(new NodeUdp(socket));
      });
    });
  }

  send(buf: Uint8Array, to: Address): void {
    if (this._closed) return;
    this._sending++;
    this._socket.send(buf, to.port, to.host, this._sent);
  }

  private _sending = 0;
  private _closeWhenSent = false;
  private readonly _sent = (): void => {
    if (--this._sending === 0 && this._closeWhenSent) this._socket.close();
  };

  onMessage(cb: (buf: Uint8Array, from: Address) => void): void {
    this._socket.removeAllListeners("message");
    // A plain Uint8Array view: decoded byte strings are then the same type on every transport.
    this._socket.on("message", (buf, rinfo) =>
      cb(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), { host: rinfo.address, port: rinfo.port }));
  }

  address(): Address {
    const a = this._socket.address();
    return { host: a.address, port: a.port };
  }

  receiveBufferSize(): number {
    return this._socket.getRecvBufferSize();
  }

  /**
   * Stops sending and receiving; the socket itself closes once the datagrams already handed to it
   * are out (Deno drops queued sends on close, which would lose a last ack or close frame).
   */
  close(): void {
    if (this._closed) return;
    this._closed = true;
    this._socket.removeAllListeners("message");
    if (this._sending === 0) this._socket.close();
    else this._closeWhenSent = true;
  }
}
