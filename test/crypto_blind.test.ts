import { suite } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import { ed25519 } from "@noble/curves/ed25519.js";
import { sha512 } from "@noble/hashes/sha2.js";
import { bytesToHex, concatBytes, hexToBytes, randomBytes, utf8ToBytes } from "@noble/hashes/utils.js";
import {
  blindFactor, blindIdentity, blindPublicKey, periodOf, PERIOD, signExpanded, verify, _isSmallOrderEncoding,
} from "../src/crypto/blind.ts";
import { _clamped, nativeBlind } from "../src/crypto/blind_native.ts";
import { generateIdentity, identityFromSeed } from "../src/crypto/identity.ts";
import { nativeX25519 } from "../src/crypto/x25519.ts";

type Chat1Case = {
  seed: string; publicKey: string; period: number; periodBytes: string; blindFactor: string;
  blindedPublicKey: string; blindedScalar: string; blindedPrefix: string; signedBuffer: string; sig: string;
};
type Bep44Mutable = { name: string; signedBuffer: string; publicKey: string; privateKey: string; signature: string };
const cases = (JSON.parse(readFileSync("test/vectors/chat1.json", "utf8")) as { cases: Chat1Case[] }).cases;
const bep44 = JSON.parse(readFileSync("test/vectors/bep44.json", "utf8")) as { mutable: Bep44Mutable[] };

const L = ed25519.Point.Fn.ORDER;
const P = 2n ** 255n - 19n;
const le = (b: Uint8Array) => BigInt("0x" + (bytesToHex(b.slice().reverse()) || "0"));
const le32 = (n: bigint) => hexToBytes(n.toString(16).padStart(64, "0")).reverse();
const flip = (b: Uint8Array, bit: number) => { const c = b.slice(); c[bit >> 3]! ^= 1 << (bit & 7); return c; };

const vec = suite("crypto/blind vectors");

vec("chat/1: blinding factor, A', a', prefix' and the blinded signature, every case", () => {
  for (const c of cases) {
    const identity = identityFromSeed(hexToBytes(c.seed));
    const A = identity.publicKey;
    assert.is(bytesToHex(A), c.publicKey);
    assert.is(bytesToHex(blindFactor(A, c.period)), c.blindFactor, `h, period ${c.period}`);
    assert.is(bytesToHex(blindPublicKey(A, c.period)), c.blindedPublicKey, "A' = h·A");
    const key = blindIdentity(identity, c.period);
    assert.is(bytesToHex(key.scalar), c.blindedScalar, "a'");
    assert.is(bytesToHex(key.prefix), c.blindedPrefix, "prefix'");
    assert.is(bytesToHex(key.publicKey), c.blindedPublicKey, "a'·B = h·A");
    const msg = hexToBytes(c.signedBuffer);
    assert.is(bytesToHex(signExpanded(key, msg)), c.sig, "sig");
    assert.ok(verify(hexToBytes(c.sig), msg, key.publicKey));
    assert.ok(ed25519.verify(hexToBytes(c.sig), msg, key.publicKey, { zip215: false }), "a standard verifier agrees");
    assert.not.ok(verify(hexToBytes(c.sig), msg, A), "not valid under the unblinded key");
  }
});

vec("BEP 44: the same signer reproduces the signatures from the 64-byte expanded keys", () => {
  for (const m of bep44.mutable) {
    const priv = hexToBytes(m.privateKey);
    const key = { scalar: priv.subarray(0, 32), prefix: priv.subarray(32), publicKey: hexToBytes(m.publicKey) };
    const msg = utf8ToBytes(m.signedBuffer);
    assert.is(bytesToHex(signExpanded(key, msg)), m.signature, m.name);
    assert.ok(verify(hexToBytes(m.signature), msg, key.publicKey), m.name);
    assert.equal(ed25519.Point.BASE.multiply(le(key.scalar) % L).toBytes(), key.publicKey, "scalar is clamped, not reduced");
  }
});

vec("periodOf and the period encoding", () => {
  assert.is(PERIOD, 3600);
  assert.is(periodOf(0), 0);
  assert.is(periodOf(3599.9), 0);
  assert.is(periodOf(3600), 1);
  assert.is(periodOf(1_800_000_017), 500000);
  assert.throws(() => periodOf(-1), RangeError);
  assert.throws(() => periodOf(NaN), RangeError);
  assert.throws(() => blindFactor(randomBytes(32), 1.5), RangeError);
  // p8 is big-endian: the vectors' periodBytes are what is hashed.
  const c = cases[1] as Chat1Case;
  const h = le(sha512(concatBytes(utf8ToBytes("chat/1 blind"), hexToBytes(c.publicKey), hexToBytes(c.periodBytes)))) % L;
  assert.is(bytesToHex(le32(h)), c.blindFactor);
});

vec("random identities: h·A = a'·B, periods unlinkable, signatures verify", () => {
  for (let i = 0; i < 4; i++) {
    const identity = generateIdentity();
    const p = Math.floor(Math.random() * 1e6);
    const key = blindIdentity(identity, p);
    assert.equal(blindPublicKey(identity.publicKey, p), key.publicKey);
    assert.not.equal(blindPublicKey(identity.publicKey, p + 1), key.publicKey);
    const msg = randomBytes(100);
    assert.ok(verify(signExpanded(key, msg), msg, key.publicKey));
  }
  assert.throws(() => blindPublicKey(new Uint8Array(32), 0), RangeError, "an invalid A has no blinded key");
});

vec.run();

const ver = suite("crypto/blind strict verification");

const identity = generateIdentity();
const key = blindIdentity(identity, 7);
const a = le(key.scalar);
const msg = utf8ToBytes("3:seqi1e1:v12:Hello World!");
const sig = signExpanded(key, msg);
const challenge = (R: Uint8Array, A: Uint8Array) => le(sha512(concatBytes(R, A, msg))) % L;
const withSignBit = (b: Uint8Array) => b.map((x, i) => (i === 31 ? x | 0x80 : x));

ver("one flipped bit anywhere in the signature, message or key fails", () => {
  assert.ok(verify(sig, msg, key.publicKey));
  for (let bit = 0; bit < 512; bit += 3) assert.not.ok(verify(flip(sig, bit), msg, key.publicKey), `sig bit ${bit}`);
  for (let bit = 0; bit < msg.length * 8; bit += 5) assert.not.ok(verify(sig, flip(msg, bit), key.publicKey), `msg bit ${bit}`);
  for (let bit = 0; bit < 256; bit += 3) assert.not.ok(verify(sig, msg, flip(key.publicKey, bit)), `key bit ${bit}`);
  assert.not.ok(verify(sig, msg, generateIdentity().publicKey), "wrong key");
});

ver("wrong lengths are invalid, not exceptions; wrong types throw", () => {
  assert.not.ok(verify(sig.subarray(0, 63), msg, key.publicKey));
  assert.not.ok(verify(concatBytes(sig, Uint8Array.of(0)), msg, key.publicKey));
  assert.not.ok(verify(sig, msg, key.publicKey.subarray(0, 31)));
  assert.not.ok(verify(new Uint8Array(0), msg, key.publicKey));
  assert.throws(() => verify("sig" as unknown as Uint8Array, msg, key.publicKey), TypeError);
});

ver("non-canonical S (S + L) is rejected", () => {
  const S = le(sig.subarray(32));
  assert.ok(S + L < 2n ** 256n);
  const bad = concatBytes(sig.subarray(0, 32), le32(S + L));
  assert.not.ok(verify(bad, msg, key.publicKey));
});

ver("small-order R is rejected, though RFC 8032's equation holds (noble strict accepts it)", () => {
  const R = ed25519.Point.ZERO.toBytes(); // the identity, canonical
  const bad = concatBytes(R, le32((challenge(R, key.publicKey) * a) % L));
  assert.ok(ed25519.verify(bad, msg, key.publicKey, { zip215: false }), "the forgery satisfies the equation");
  assert.ok(_isSmallOrderEncoding(R));
  assert.not.ok(verify(bad, msg, key.publicKey));
});

ver("non-canonical R encodings are rejected (ZIP 215 would accept them)", () => {
  for (const R of [le32(P + 1n), withSignBit(le32(1n))]) {
    const bad = concatBytes(R, le32((challenge(R, key.publicKey) * a) % L));
    assert.ok(ed25519.verify(bad, msg, key.publicKey, { zip215: true }), "valid under ZIP 215");
    assert.not.ok(verify(bad, msg, key.publicKey), bytesToHex(R));
  }
});

ver("small-order and non-canonical A are rejected", () => {
  // With A of small order, S = r and R = r·B satisfy the cofactored equation for any message.
  const r = 12345n;
  const R = ed25519.Point.BASE.multiply(r).toBytes();
  const forged = concatBytes(R, le32(r));
  const T8 = ed25519.Point.fromHex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a");
  const smallA = Array.from({ length: 8 }, (_, k) => T8.multiplyUnsafe(BigInt(k)).toBytes());
  for (const A of [...smallA, le32(P + 1n), withSignBit(le32(1n))]) {
    assert.ok(ed25519.verify(forged, msg, A, { zip215: true }), "ZIP 215 accepts the forgery");
    assert.not.ok(verify(forged, msg, A), bytesToHex(A));
  }
  assert.not.ok(verify(sig, msg, le32(2n)), "y = 2 is not on the curve");
});

ver.run();

const fast = suite("crypto/blind on the platform's X25519");

fast("the runtime has node:crypto X25519, so the fast path is what the vectors above tested", () => {
  assert.ok(nativeX25519());
  for (const c of cases) {
    const point = ed25519.Point.fromBytes(hexToBytes(c.publicKey));
    assert.is(bytesToHex(nativeBlind(point, le(hexToBytes(c.blindFactor)))!), c.blindedPublicKey);
  }
});

fast("h·A equals @noble's for random keys and factors, small and large", () => {
  for (let i = 0; i < 150; i++) {
    const point = ed25519.Point.fromBytes(generateIdentity().publicKey);
    // Small and large h too, but not those next to a small multiple of 8 (the test below).
    const h = i < 6 ? BigInt(i + 1) : i < 12 ? L - BigInt(i - 4) : le(randomBytes(64)) % L;
    const got = nativeBlind(point, h);
    assert.ok(got, `h = ${h}`);
    assert.is(bytesToHex(got!), bytesToHex(point.multiplyUnsafe(h).toBytes()), `h = ${h}`);
  }
});

fast("the clamped scalar: bits 0–2 clear, 254 set, 255 clear, and ≡ ±s (mod L); none for s/8 near 0 (mod L)", () => {
  for (let i = 0; i < 500; i++) {
    const s = i < 6 ? BigInt(i + 1) : le(randomBytes(64)) % L;
    const bytes = _clamped(s);
    assert.ok(bytes, `s = ${s}`);
    const c = le(bytes!);
    assert.is(c & 7n, 0n);
    assert.is(c >> 254n, 1n);
    assert.ok(c % L === s || c % L === L - s, `s = ${s}`);
  }
  // c = 2^254 + 8j with j < 2^251 reaches every s but those whose s/8 (mod L) lies within
  // L − 2^252 of 0: never a hash's output in practice, but 0, 8, 16, … are such.
  for (const s of [0n, 8n, 16n, L - 8n, L - 8n * 1000n]) assert.is(_clamped(s), undefined, `s = ${s}`);
});

fast("h or h + 1 with no clamped scalar (h ≡ 0, 7, −1, −8), or an all-zero output: left to @noble", () => {
  const point = ed25519.Point.fromBytes(generateIdentity().publicKey);
  for (const h of [0n, 7n, L - 1n, L - 8n]) assert.is(nativeBlind(point, h), undefined, `h = ${h}`);
});

fast.run();
