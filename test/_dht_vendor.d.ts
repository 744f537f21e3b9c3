// Types for the untyped npm packages the DHT tests and benchmarks compare against.
declare module "bencode" {
  const bencode: { encode(value: unknown): Uint8Array; decode(buf: Uint8Array): unknown };
  export default bencode;
}
