// Types for the untyped npm packages the DHT tests and benchmarks compare against.
declare module "bencode" {
  const bencode: { encode(value: unknown): Uint8Array; decode(buf: Uint8Array): unknown };
  export default bencode;
}

declare module "bittorrent-dht" {
  import { EventEmitter } from "node:events";
  interface Value { v: Uint8Array; seq?: number; k?: Uint8Array; sig?: Uint8Array; salt?: Uint8Array; id: Uint8Array }
  interface PutOptions { v: Uint8Array; k?: Uint8Array; seq?: number; salt?: Uint8Array; cas?: number; sign?: (buf: Uint8Array) => Uint8Array }
  interface Reply { r: { id: Uint8Array } }
  export default class DHT extends EventEmitter {
    constructor(opts?: { bootstrap?: string[] | false; verify?: (sig: Uint8Array, msg: Uint8Array, pk: Uint8Array) => boolean; host?: string; nodeId?: Uint8Array });
    nodeId: Uint8Array;
    nodes: { toArray(): { id: Uint8Array; host: string; port: number }[] };
    _rpc: { closest(target: Uint8Array, message: object, visit: (m: Reply) => void, cb: (err: Error | null) => void): void };
    listen(port: number, host: string, cb: () => void): void;
    address(): { address: string; port: number };
    addNode(node: { host: string; port: number; id?: Uint8Array }): void;
    get(key: Uint8Array, opts: { salt?: Uint8Array; cache?: boolean }, cb: (err: Error | null, value: Value | null) => void): void;
    get(key: Uint8Array, cb: (err: Error | null, value: Value | null) => void): void;
    put(opts: PutOptions, cb: (err: Error | null, key: Uint8Array, n: number) => void): void;
    destroy(cb?: () => void): void;
  }
}
