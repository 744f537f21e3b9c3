/**
 * PROTOCOL §3's A' = h·A on the platform's X25519, where node:crypto has one that passed RFC 7748
 * (x25519.ts): 0.35 ms a key on Node where @noble's BigInt takes 0.90 (Deno: 0.28 and 0.38), when a
 * first message takes ~4.5 ms in all. A and h are public: nothing here is secret.
 *
 * X25519 gives the Montgomery u of [c]P for a clamped scalar c = 2^254 + 8j, j < 2^251. A has order
 * L, so [c]A = [h]A when c ≡ h (mod L), and u([h]A) = u([−h]A): one of ±h has such a c but for a
 * few h that no hash gives in practice (`_clamped`). u loses the sign of x, and u([h + 1]A) =
 * u([h]A + A) picks it: of the two points with the y that u gives, A' is the one that, plus A, has
 * that u. That check also catches a wrong answer; anything unexpected returns undefined, and @noble
 * answers. (A wrong A' could only make a lookup find nothing: the blinded key is public.)
 * @module
 */
import { ed25519 } from "@noble/curves/ed25519.js";
import { b64url, nodeCrypto } from "./_native.ts";
import { bytesToNumberLE, numberToBytesLE } from "./_utils.ts";
import { nativeX25519 } from "./x25519.ts";

type Point = ReturnType<typeof ed25519.Point.fromBytes>;

const { Fp, Fn } = ed25519.Point;
const L = Fn.ORDER;
const TOP = 1n << 254n;
const TOP_MOD_L = Fn.create(TOP);
const J_LIMIT = 1n << 251n;
const INV8 = Fn.inv(8n);
/** Runtimes want a private JWK's x but derive the public key from d: any bytes do. */
const ANY_X = b64url(new Uint8Array(32));

/**
 * The clamped X25519 scalar c with c ≡ s or −s (mod L), as 32 bytes: c = 2^254 + 8j needs
 * j = s/8 − 2^251 (mod L) below 2^251, and one of ±s gives one unless s/8 is near 0 (mod L).
 */
export function _clamped(s: bigint): Uint8Array | undefined {
  for (const t of [s, L - s]) {
    const j = Fn.mul(Fn.sub(Fn.create(t), TOP_MOD_L), INV8);
    if (j < J_LIMIT) return numberToBytesLE(TOP + 8n * j, 32);
  }
  // Neither: s/8 (mod L) lies within L − 2^252 (~2^124) of 0, as for s = 0, 8, 16, …; a hash's
  // output mod L lands there with a chance of ~2^−126.
  return undefined;
}

function x25519(scalar: Uint8Array, u: bigint): bigint {
  const crypto = nodeCrypto()!;
  const privateKey = crypto.createPrivateKey({ key: { kty: "OKP", crv: "X25519", x: ANY_X, d: b64url(scalar) }, format: "jwk" });
  const publicKey = crypto.createPublicKey({ key: { kty: "OKP", crv: "X25519", x: b64url(numberToBytesLE(u, 32)) }, format: "jwk" });
  return bytesToNumberLE(crypto.diffieHellman({ privateKey, publicKey }));
}

/** A' = h·A for a valid A (in the prime-order subgroup), or undefined where the platform cannot tell. */
export function nativeBlind(A: Point, h: bigint): Uint8Array | undefined {
  if (!nativeX25519()) return undefined;
  const c = _clamped(h), next = _clamped(Fn.add(h, 1n));
  if (!c || !next) return undefined;
  try {
    const y = A.toAffine().y;
    const uA = Fp.div(Fp.add(1n, y), Fp.sub(1n, y)); // Edwards to Montgomery: u = (1 + y)/(1 − y)
    const u = x25519(c, uA);
    const uNext = x25519(next, uA);
    const even = ed25519.Point.fromBytes(numberToBytesLE(Fp.div(Fp.sub(u, 1n), Fp.add(u, 1n)), 32));
    for (const candidate of [even, even.negate()]) {
      const sum = candidate.add(A); // u = (Z + Y)/(Z − Y) in extended coordinates
      if (Fp.eql(Fp.add(sum.Z, sum.Y), Fp.mul(uNext, Fp.sub(sum.Z, sum.Y)))) return candidate.toBytes();
    }
  } catch {
    // a key the platform refuses, an all-zero output (h ≡ 0 or −1): @noble answers
  }
  return undefined;
}
