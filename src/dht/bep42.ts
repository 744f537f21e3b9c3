// BEP 42 (DHT security extension): a node id is tied to its owner's IP, so that whoever wants 8
// ids around a target needs 8 IPs there, and the local network blocks the BEP exempts.
import { parseIPv4 } from "./krpc.ts";

/** CRC32C (Castagnoli, reflected polynomial 0x82F63B78), the hash BEP 42 names. */
const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32c(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC32C_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** BEP 42: crc32c((ip & 0x030f3fff) | (r << 29)), the IP big-endian. */
function idPrefix(ip: Uint8Array, r: number): number {
  const masked = new Uint8Array([(ip[0]! & 0x03) | ((r & 7) << 5), ip[1]! & 0x0f, ip[2]! & 0x3f, ip[3]!]);
  return crc32c(masked);
}

/** BEP 42 "Enforcement": 10/8, 172.16/12, 192.168/16, 169.254/16 and 127/8 are exempt from the id check. */
export function isLocal(host: string): boolean {
  const ip = parseIPv4(host);
  if (!ip) return host === "::1";
  const [a, b] = [ip[0]!, ip[1]!];
  return a === 10 || a === 127 || (a === 172 && b >= 16 && b < 32) || (a === 192 && b === 168) || (a === 169 && b === 254);
}

export const isLoopback = (host: string): boolean => host.startsWith("127.") || host === "::1";

/** The /24 of an IPv4 address ("1.2.3"); other hosts as they are. */
export const subnet24 = (host: string): string => (parseIPv4(host) ? host.slice(0, host.lastIndexOf(".")) : host);

/** A node id valid for `host` (IPv4): the first 21 bits from CRC32C, the last byte `rand`; null for other hosts. */
export function nodeIdFor(host: string, rand = crypto.getRandomValues(new Uint8Array(1))[0]!): Uint8Array | null {
  const ip = parseIPv4(host);
  if (!ip) return null;
  const crc = idPrefix(ip, rand);
  const id = crypto.getRandomValues(new Uint8Array(20));
  id[0] = crc >>> 24;
  id[1] = (crc >>> 16) & 0xff;
  id[2] = ((crc >>> 8) & 0xf8) | (id[2]! & 0x07);
  id[19] = rand & 0xff;
  return id;
}

/** Whether `id` is a BEP 42 id for `host` (an IPv4 address; false for anything else). */
export function validNodeId(id: Uint8Array, host: string): boolean {
  const ip = parseIPv4(host);
  if (!ip || id.length !== 20) return false;
  const crc = idPrefix(ip, id[19]!);
  return id[0] === crc >>> 24 && id[1] === ((crc >>> 16) & 0xff) && (id[2]! & 0xf8) === ((crc >>> 8) & 0xf8);
}
