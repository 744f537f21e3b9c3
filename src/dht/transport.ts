// The two seams of the DHT: the datagram transport and the clock. Both are tiny on purpose:
// src/peer.ts shares one UDP socket between the DHT and sessions by wrapping a Transport, and the
// simulator runs 100,000 nodes on a virtual Clock.

export interface Address {
  host: string;
  port: number;
}

/** A datagram socket. The DHT accepts any object with these four methods. */
export interface Transport {
  /** Sends one datagram; `buf` must not change afterwards (a socket may read it later: Deno's does). */
  send(buf: Uint8Array, to: Address): void;
  /** Sets THE handler of incoming datagrams (one handler; a later call replaces it). */
  onMessage(cb: (buf: Uint8Array, from: Address) => void): void;
  address(): Address;
  close(): void;
}

/** A bound IPv4 UDP socket (udp.ts chooses the runtime's). */
export interface UdpSocket extends Transport {
  /** Which socket this is (tests check that Deno gets its own). */
  readonly kind: "node:dgram" | "Deno.listenDatagram";
  /** The kernel's receive buffer in bytes, where the runtime tells it (node:dgram). */
  receiveBufferSize(): number | undefined;
}

/** Time and timers, injectable so that the simulator and tests can run on virtual time. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(timer: unknown): void;
}

/** The real clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (t) => clearTimeout(t as ReturnType<typeof setTimeout>),
};

export const addressKey = (a: Address): string => `${a.host}:${a.port}`;
