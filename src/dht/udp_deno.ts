// The UDP transport on Deno's own datagram socket (`Deno.listenDatagram`). Deno's node:dgram is a
// layer of JavaScript over the same socket: on this project's machine, in 4 interleaved runs, a
// session carried 13,500–14,200 messages/s of 100 B over it and 20,200–24,300 over this (64 KiB
// messages: 23–32 against 41–50 MB/s). Deno hands it out with the "net" unstable feature only
// (deno.json turns it on); without it, node:dgram is used.
import type { Address, UdpSocket } from "./transport.ts";

type NetAddr = { hostname: string; port: number };
/** The part of Deno.DatagramConn used here (Deno's types are not imported). */
interface DatagramConn {
  readonly addr: NetAddr;
  receive(into: Uint8Array): Promise<[Uint8Array, NetAddr]>;
  send(data: Uint8Array, to: NetAddr & { transport: "udp" }): Promise<number>;
  close(): void;
}
export type ListenDatagram = (options: NetAddr & { transport: "udp" }) => DatagramConn;

/** Deno.listenDatagram, where the runtime hands it out. */
export function denoDatagrams(): ListenDatagram | undefined {
  const deno = (globalThis as { Deno?: { listenDatagram?: ListenDatagram } }).Deno;
  return typeof deno?.listenDatagram === "function" ? deno.listenDatagram.bind(deno) : undefined;
}

/** The largest UDP payload over IPv4: nothing that arrives is cut short. */
const MAX_DATAGRAM = 65507;

export class DenoUdp implements UdpSocket {
  readonly kind = "Deno.listenDatagram";
  readonly #conn: DatagramConn;
  readonly #buffer = new Uint8Array(MAX_DATAGRAM);
  #handler: (buf: Uint8Array, from: Address) => void = () => {};
  #closed = false;
  #sending = 0;

  private constructor(conn: DatagramConn) {
    this.#conn = conn;
    void this.#receiveLoop();
  }

  static bind(listen: ListenDatagram, opts: { port?: number; host?: string }): Promise<DenoUdp> {
    try {
      return Promise.resolve(new DenoUdp(listen({ hostname: opts.host ?? "0.0.0.0", port: opts.port ?? 0, transport: "udp" })));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  async #receiveLoop(): Promise<void> {
    while (!this.#closed) {
      let got: [Uint8Array, NetAddr];
      try {
        got = await this.#conn.receive(this.#buffer);
      } catch (err) {
        // Closed (BadResource, or Interrupted while waiting) ends the loop; anything else (an
        // error the kernel queued for an earlier datagram) is UDP's loss, as node:dgram's.
        const name = (err as Error).name;
        if (this.#closed || name === "BadResource" || name === "Interrupted") return;
        continue;
      }
      // A copy of its own: the buffer is reused for the next datagram, and what a handler keeps
      // (a record, a fragment) must not pin a large one.
      if (this.#closed) return;
      try {
        this.#handler(got[0].slice(), { host: got[1].hostname, port: got[1].port });
      } catch (err) {
        // As from a node:dgram listener: uncaught, not the end of this loop (which would go deaf).
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }

  /** Sends `buf`; Deno reads it after this returns, so the caller must not change it (none does). */
  send(buf: Uint8Array, to: Address): void {
    if (this.#closed) return;
    this.#sending++;
    // One promise a datagram: a failed send is UDP's loss (as node:dgram's), counted like the rest.
    this.#conn.send(buf, { hostname: to.host, port: to.port, transport: "udp" }).then(this.#sent, this.#sent);
  }

  readonly #sent = (): void => {
    if (--this.#sending === 0 && this.#closed) this.#conn.close();
  };

  onMessage(cb: (buf: Uint8Array, from: Address) => void): void {
    this.#handler = cb;
  }

  address(): Address {
    return { host: this.#conn.addr.hostname, port: this.#conn.addr.port };
  }

  receiveBufferSize(): undefined {
    return undefined;
  }

  /** Stops sending and receiving; the socket closes once the datagrams handed to it are out. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#sending === 0) this.#conn.close();
  }
}
