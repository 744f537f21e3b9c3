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

/** base64url without padding (RFC 7515 §2), the byte form of a JWK field. */
export function b64url(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** The bytes of a base64url JWK field. */
export function fromB64url(text: string): Uint8Array {
  const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}
