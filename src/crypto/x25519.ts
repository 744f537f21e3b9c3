/**
 * X25519 as Noise uses it (§4.1 DH and GENERATE_KEYPAIR): @noble's, and node:crypto's where the
 * runtime has it. noble decides every failure: whatever node:crypto throws, and an all-zero output,
 * is answered by noble (which throws on a low-order key, or answers), so the two differ in speed
 * only. A runtime whose answer to RFC 7748 §6.1 is wrong is not used.
 * @module
 */
import { x25519 } from "@noble/curves/ed25519.js";
import { hexToBytes as hex } from "@noble/hashes/utils.js";
import { b64url, fromB64url, type NativeKey, nodeCrypto } from "./_native.ts";
import { equalBytes, wipe } from "./_utils.ts";

/** An X25519 key pair (32-byte secret, 32-byte public). */
export type KeyPair = { secretKey: Uint8Array; publicKey: Uint8Array };

export const DHLEN = 32;

/** X25519 as Noise uses it: DH with a key pair, and a fresh key pair (GENERATE_KEYPAIR). */
export interface X25519 {
  readonly name: string;
  /** Throws on a low-order public key (all-zero output), as noble does. */
  dh(kp: KeyPair, publicKey: Uint8Array): Uint8Array;
  keygen(): KeyPair;
  /** How many answers node:crypto left to noble (node:crypto only; for tests). */
  readonly fallbacks?: number;
}

export const _nobleX25519: X25519 = {
  name: "@noble/curves",
  dh: (kp, publicKey) => x25519.getSharedSecret(kp.secretKey, publicKey),
  keygen: () => x25519.keygen(),
};

/**
 * node:crypto's X25519. A handshake does five DH and one key generation a side; what costs is the
 * key import, not the curve (Node 20: import 35 µs, DH 35 µs, keygen 40 µs, a DER export 40 µs),
 * so the key object of a key is kept with it (a WeakMap on its bytes, which a handshake never
 * changes before it wipes them) and made once: the private one by keygen or a secret's first DH
 * (the handshake's copy of the static key serves two), the public one by its first DH (each
 * serves two). node:crypto keeps its copy of a secret until garbage collection, as noble keeps its
 * BigInt scalar: wipe() erases the bytes we hold.
 */
function loadNative(): X25519 | undefined {
  const native = nodeCrypto();
  if (typeof native?.diffieHellman !== "function" || typeof native.generateKeyPairSync !== "function") return undefined;
  const privateKeys = new WeakMap<Uint8Array, NativeKey>();
  const publicKeys = new WeakMap<Uint8Array, NativeKey>();
  const privateKey = (kp: KeyPair): NativeKey => {
    let key = privateKeys.get(kp.secretKey);
    if (!key) {
      key = native.createPrivateKey({ key: { kty: "OKP", crv: "X25519", x: b64url(kp.publicKey), d: b64url(kp.secretKey) }, format: "jwk" });
      privateKeys.set(kp.secretKey, key);
    }
    return key;
  };
  const publicKey = (bytes: Uint8Array): NativeKey => {
    let key = publicKeys.get(bytes);
    if (!key) {
      key = native.createPublicKey({ key: { kty: "OKP", crv: "X25519", x: b64url(bytes) }, format: "jwk" });
      publicKeys.set(bytes, key);
    }
    return key;
  };
  let fallbacks = 0;
  const dh = (kp: KeyPair, peer: Uint8Array): Uint8Array => {
    let shared: Uint8Array;
    try {
      const out = native.diffieHellman({ privateKey: privateKey(kp), publicKey: publicKey(peer) });
      shared = Uint8Array.from(out);
      wipe(out);
    } catch {
      fallbacks++;
      return _nobleX25519.dh(kp, peer);
    }
    if (shared.length !== DHLEN || shared.every((b) => b === 0)) {
      fallbacks++;
      return _nobleX25519.dh(kp, peer);
    }
    return shared;
  };
  const keygen = (): KeyPair => {
    try {
      const pair = native.generateKeyPairSync("x25519");
      const kp = exportPair(pair.privateKey, pair.publicKey);
      if (kp) {
        privateKeys.set(kp.secretKey, pair.privateKey);
        return kp;
      }
    } catch {
      // noble below
    }
    fallbacks++;
    return _nobleX25519.keygen();
  };
  try {
    const pair = native.generateKeyPairSync("x25519");
    if (!exportPair(pair.privateKey, pair.publicKey)) return undefined;
    const rfc7748 = {
      secretKey: hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"),
      publicKey: hex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"),
    };
    const bob = hex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
    const answer = native.diffieHellman({ privateKey: privateKey(rfc7748), publicKey: publicKey(bob) });
    if (!equalBytes(Uint8Array.from(answer), hex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"))) return undefined;
  } catch {
    return undefined;
  }
  return {
    name: "node:crypto",
    dh,
    keygen,
    get fallbacks() {
      return fallbacks;
    },
  };
}

const PKCS8_PREFIX = hex("302e020100300506032b656e04220420");
const SPKI_PREFIX = hex("302a300506032b656e032100");

/**
 * The raw bytes of a node:crypto key pair, or undefined if the export is not the expected form.
 * Node exports a JWK in 1 µs and DER in 40 µs; Deno 2.9 the other way round (20 µs and 1 µs).
 */
function exportPair(privateKey: NativeKey, publicKey: NativeKey): KeyPair | undefined {
  let kp: KeyPair;
  if ("Deno" in globalThis) {
    const pkcs8 = privateKey.export({ format: "der", type: "pkcs8" });
    const spki = publicKey.export({ format: "der", type: "spki" });
    const ok = pkcs8.length === PKCS8_PREFIX.length + DHLEN && equalBytes(pkcs8.subarray(0, PKCS8_PREFIX.length), PKCS8_PREFIX) &&
      spki.length === SPKI_PREFIX.length + DHLEN && equalBytes(spki.subarray(0, SPKI_PREFIX.length), SPKI_PREFIX);
    kp = ok ? { secretKey: Uint8Array.from(pkcs8.subarray(PKCS8_PREFIX.length)), publicKey: Uint8Array.from(spki.subarray(SPKI_PREFIX.length)) } : { secretKey: new Uint8Array(0), publicKey: new Uint8Array(0) };
    wipe(pkcs8);
  } else {
    const jwk = privateKey.export({ format: "jwk" });
    kp = { secretKey: fromB64url(jwk.d ?? ""), publicKey: fromB64url(jwk.x) };
  }
  if (kp.secretKey.length === DHLEN && kp.publicKey.length === DHLEN) return kp;
  wipe(kp.secretKey);
  return undefined;
}

let native: X25519 | null | undefined;

/**
 * node:crypto's X25519, or undefined in a runtime without it (tests compare it with noble). Loaded
 * and checked on first use, not at import: the DHT imports this module (blinding) and never uses it.
 */
export function nativeX25519(): X25519 | undefined {
  if (native === undefined) native = loadNative() ?? null;
  return native ?? undefined;
}
