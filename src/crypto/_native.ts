// node:crypto, where the runtime hands it out synchronously (`process.getBuiltinModule`: Node ≥
// 20.16, Deno 2). Nothing is imported, so the modules that use it still run anywhere; each checks
// the platform against a known answer before trusting it, and keeps @noble as the fallback.

/** The part of node:crypto the native paths use (its types are not imported). */
export interface NodeCrypto {
  createPrivateKey(options: { key: Jwk; format: "jwk" } | { key: Uint8Array; format: "der"; type: "pkcs8" }): NativeKey;
  createPublicKey(options: { key: Jwk; format: "jwk" } | NativeKey): NativeKey;
  diffieHellman(options: { privateKey: NativeKey; publicKey: NativeKey }): Uint8Array;
  generateKeyPairSync(type: "x25519"): { privateKey: NativeKey; publicKey: NativeKey };
  createHmac(algorithm: string, key: Uint8Array): NativeHash;
  verify(algorithm: null, data: Uint8Array, key: NativeKey, signature: Uint8Array): boolean;
  createCipheriv(alg: string, key: Uint8Array, iv: Uint8Array, opts: { authTagLength: number }): NativeAead & { getAuthTag(): Uint8Array };
  createDecipheriv(alg: string, key: Uint8Array, iv: Uint8Array, opts: { authTagLength: number }): NativeAead & { setAuthTag(tag: Uint8Array): unknown };
}
export type Jwk = { kty: "OKP"; crv: "X25519" | "Ed25519"; x: string; d?: string };
export type NativeKey = {
  export(options: { format: "jwk" }): Jwk;
  export(options: { format: "der"; type: "pkcs8" | "spki" }): Uint8Array;
};
export type NativeAead = {
  update(data: Uint8Array): Uint8Array;
  final(): Uint8Array;
  setAAD(ad: Uint8Array, options: { plaintextLength: number }): unknown;
};
export type NativeHash = { update(data: Uint8Array): NativeHash; digest(): Uint8Array };

let loaded: NodeCrypto | null | undefined;

/** node:crypto, or undefined in a runtime without it. */
export function nodeCrypto(): NodeCrypto | undefined {
  if (loaded === undefined) {
    try {
      const process = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
      loaded = (process?.getBuiltinModule?.("node:crypto") as NodeCrypto | undefined) ?? null;
    } catch {
      loaded = null;
    }
  }
  return loaded ?? undefined;
}

const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/**
 * base64url without padding (RFC 7515 §2), the byte form of a JWK field. By table: every imported
 * key goes through here, and btoa of a char-by-char string then three regex passes took 0.8 µs for
 * 32 bytes in a warm loop (this: 0.3) and ~20 µs inside a DHT lookup.
 */
export function b64url(bytes: Uint8Array): string {
  let out = "";
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += B64URL[n >> 18]! + B64URL[(n >> 12) & 63]! + B64URL[(n >> 6) & 63]! + B64URL[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest > 0) {
    const n = (bytes[i]! << 16) | (rest === 2 ? bytes[i + 1]! << 8 : 0);
    out += B64URL[n >> 18]! + B64URL[(n >> 12) & 63]! + (rest === 2 ? B64URL[(n >> 6) & 63]! : "");
  }
  return out;
}

/** The bytes of a base64url JWK field. */
export function fromB64url(text: string): Uint8Array {
  const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}
