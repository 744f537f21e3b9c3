import { suite } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import { ed25519, x25519 } from "@noble/curves/ed25519.js";
import { bytesToHex, hexToBytes, randomBytes } from "@noble/hashes/utils.js";
import { ChatError } from "../src/errors.ts";
import {
  _nativePublicKey, formatPublicKey, generateIdentity, identityFromSeed, isValidPublicKey, isX25519FormOf, parsePublicKey, wipeIdentity,
  x25519FromEd25519Public,
} from "../src/crypto/identity.ts";
import { decodeZBase32, encodeZBase32, ZBASE32_ALPHABET } from "../src/crypto/zbase32.ts";

type Chat1Case = { seed: string; publicKey: string; publicKeyZ32: string };
const cases = (JSON.parse(readFileSync("test/vectors/chat1.json", "utf8")) as { cases: Chat1Case[] }).cases;

/** An independent z-base-32 reference: via a string of bits, 5 at a time, MSB first. */
function referenceZBase32(bytes: Uint8Array): string {
  let bits = [...bytes].map((b) => b.toString(2).padStart(8, "0")).join("");
  bits = bits.padEnd(Math.ceil(bits.length / 5) * 5, "0");
  return (bits.match(/.{5}/g) ?? []).map((c) => ZBASE32_ALPHABET[parseInt(c, 2)]).join("");
}

const P = 2n ** 255n - 19n;
const le32 = (n: bigint) => hexToBytes(n.toString(16).padStart(64, "0")).reverse();
/** Every canonical small-order encoding, plus the non-canonical spellings of the same points. */
const T8 = ed25519.Point.fromHex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a");
const smallOrder = Array.from({ length: 8 }, (_, k) => T8.multiplyUnsafe(BigInt(k)).toBytes());
const withSignBit = (b: Uint8Array) => b.map((x, i) => (i === 31 ? x | 0x80 : x));
const nonCanonical = [
  le32(P + 1n), // y = 1 + p: the identity spelled with y ≥ p
  withSignBit(le32(P + 1n)),
  withSignBit(le32(1n)), // (0, 1) with the sign bit set: x = 0 cannot be negative
  withSignBit(le32(P - 1n)), // (0, −1) likewise
];
/** y = 2 is not on the curve (checked below), so its encoding is no point at all. */
const notOnCurve = le32(2n);

const zb = suite("crypto/zbase32");

zb("chat/1 vectors: z-base-32 of the public keys", () => {
  for (const c of cases) {
    assert.is(encodeZBase32(hexToBytes(c.publicKey)), c.publicKeyZ32);
    assert.is(bytesToHex(decodeZBase32(c.publicKeyZ32) as Uint8Array), c.publicKey);
  }
});

zb("matches an independent bit-string encoder and round-trips, lengths 0 to 40", () => {
  for (let n = 0; n <= 40; n++) {
    const bytes = randomBytes(n);
    const text = encodeZBase32(bytes);
    assert.is(text, referenceZBase32(bytes), `length ${n}`);
    assert.equal(decodeZBase32(text), bytes);
  }
  assert.is(encodeZBase32(new Uint8Array(32)), "y".repeat(52));
  assert.is(encodeZBase32(new Uint8Array(32).fill(255)), "9".repeat(51) + "o");
});

zb("rejects bad characters, uppercase, impossible lengths and nonzero padding bits", () => {
  const good = (cases[0] as Chat1Case).publicKeyZ32;
  for (const ch of ["0", "2", "l", "v", "Y", " ", "é", "="]) assert.is(decodeZBase32(ch + good.slice(1)), undefined, ch);
  assert.is(decodeZBase32(good.toUpperCase()), undefined, "uppercase: PROTOCOL §1 says lowercase");
  // 52 characters carry 260 bits: the last character's 4 low bits are padding and must be zero.
  for (const ch of ZBASE32_ALPHABET) {
    const v = ZBASE32_ALPHABET.indexOf(ch);
    const decoded = decodeZBase32(good.slice(0, 51) + ch);
    assert.is(decoded === undefined, (v & 15) !== 0, `last char ${ch}`);
  }
  for (const len of [1, 3, 6]) assert.is(decodeZBase32("y".repeat(len)), undefined, `length ${len}`);
  assert.equal(decodeZBase32(""), new Uint8Array(0));
});

zb.run();

const id = suite("crypto/identity");

id("chat/1 vectors: seed → public key, text form both ways", () => {
  for (const c of cases) {
    const identity = identityFromSeed(hexToBytes(c.seed));
    assert.is(bytesToHex(identity.publicKey), c.publicKey);
    assert.is(formatPublicKey(identity.publicKey), c.publicKeyZ32);
    assert.is(bytesToHex(parsePublicKey(c.publicKeyZ32)), c.publicKey);
    assert.is(bytesToHex(parsePublicKey(c.publicKey)), c.publicKey);
    assert.is(bytesToHex(parsePublicKey(c.publicKey.toUpperCase())), c.publicKey, "hex is case-insensitive");
  }
});

id("RFC 8032 §7.1 test 1 and the X25519 form (libsodium conversions)", () => {
  const identity = identityFromSeed(hexToBytes("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"));
  assert.is(bytesToHex(identity.publicKey), "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  assert.equal(identity.x25519.publicKey, ed25519.utils.toMontgomery(identity.publicKey));
  assert.equal(identity.x25519.secretKey, ed25519.utils.toMontgomerySecret(identity.seed));
  assert.equal(x25519FromEd25519Public(identity.publicKey), identity.x25519.publicKey);
  const a = identity.scalar;
  assert.is(a[0]! & 7, 0, "clamped");
  assert.is(a[31]! & 0xc0, 0x40, "clamped");
  // The two forms agree on DH: X25519(a_1, u_2) = X25519(a_2, u_1).
  const other = generateIdentity();
  assert.equal(
    x25519.getSharedSecret(identity.x25519.secretKey, x25519FromEd25519Public(other.publicKey)),
    x25519.getSharedSecret(other.x25519.secretKey, identity.x25519.publicKey),
  );
});

id("identityFromSeed is @noble's getExtendedPublicKey, whose a·B the platform computes here", () => {
  assert.ok(_nativePublicKey(new Uint8Array(32)), "node:crypto derives the key on this runtime: the fast path is what is tested");
  for (let i = 0; i < 200; i++) {
    const seed = i === 0 ? new Uint8Array(32) : i === 1 ? new Uint8Array(32).fill(255) : randomBytes(32);
    const { head, prefix, pointBytes } = ed25519.utils.getExtendedPublicKey(seed);
    const identity = identityFromSeed(seed);
    assert.equal([identity.publicKey, identity.scalar, identity.prefix], [pointBytes, head, prefix], bytesToHex(seed));
    assert.equal(identity.x25519, { secretKey: head, publicKey: x25519.getPublicKey(head) });
  }
});

id("identityFromSeed copies the seed; wipeIdentity zeroes every secret", () => {
  const seed = randomBytes(32);
  const identity = identityFromSeed(seed);
  seed.fill(0);
  assert.not.equal(identity.seed, seed);
  assert.equal(identityFromSeed(identity.seed).publicKey, identity.publicKey);
  wipeIdentity(identity);
  for (const a of [identity.seed, identity.scalar, identity.prefix, identity.x25519.secretKey]) assert.ok(a.every((b) => b === 0));
  assert.throws(() => identityFromSeed(new Uint8Array(31)), RangeError);
  assert.throws(() => identityFromSeed("00" as unknown as Uint8Array), TypeError);
});

id("parsePublicKey rejects malformed text with BAD_PUBLIC_KEY, exit 2, and a quoted value", () => {
  const good = (cases[0] as Chat1Case).publicKeyZ32;
  const bad = [
    "", "xyz", good.slice(0, 51), good + "y", good.toUpperCase(), "0" + good.slice(1), good.slice(0, 51) + "b",
    " " + good.slice(1), "g".repeat(64), "ab".repeat(31), "ab".repeat(33), `${good}\n`,
  ];
  for (const text of bad) {
    try {
      parsePublicKey(text);
      assert.unreachable(`accepted "${text}"`);
    } catch (err) {
      assert.instance(err, ChatError);
      const e = err as ChatError;
      assert.is(e.code, "BAD_PUBLIC_KEY");
      assert.is(e.exitCode, 2);
      assert.ok(e.message.startsWith(`Cannot parse public key "`), e.message);
      assert.not.ok(e.message.endsWith("."));
    }
  }
});

id("parsePublicKey rejects small-order, non-canonical, off-curve and mixed-order keys", () => {
  assert.throws(() => ed25519.Point.fromBytes(notOnCurve), undefined, "y = 2 is off the curve");
  assert.is(new Set(smallOrder.map(bytesToHex)).size, 8);
  const mixed = ed25519.Point.fromBytes(generateIdentity().publicKey).add(T8).toBytes();
  for (const bytes of [...smallOrder, ...nonCanonical, notOnCurve, mixed]) {
    assert.not.ok(isValidPublicKey(bytes), bytesToHex(bytes));
    for (const text of [bytesToHex(bytes), encodeZBase32(bytes)]) {
      assert.throws(() => parsePublicKey(text), (e: ChatError) => e.code === "BAD_PUBLIC_KEY" && /not a valid Ed25519/.test(e.message));
    }
    assert.throws(() => x25519FromEd25519Public(bytes), RangeError);
  }
  assert.ok(isValidPublicKey(generateIdentity().publicKey));
});

id("identityFromSeed copies the seed, from a Buffer too: the caller may wipe its own", () => {
  const seed = Buffer.from("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", "hex");
  const identity = identityFromSeed(seed);
  seed.fill(0);
  assert.is(bytesToHex(identity.seed), "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
});

id("isX25519FormOf: true exactly for u = (1 + y)/(1 − y), on canonical encodings only", () => {
  const P = 2n ** 255n - 19n;
  const le32 = (n: bigint) => hexToBytes(n.toString(16).padStart(64, "0")).reverse();
  for (let i = 0; i < 50; i++) {
    const identity = generateIdentity();
    const u = identity.x25519.publicKey;
    assert.ok(isX25519FormOf(identity.publicKey, u));
    assert.equal(x25519FromEd25519Public(identity.publicKey), u);
    const flipped = u.slice();
    flipped[i % 32]! ^= 1 << (i % 8);
    assert.not.ok(isX25519FormOf(identity.publicKey, flipped), "another u");
    const other = generateIdentity();
    assert.not.ok(isX25519FormOf(other.publicKey, u), "another key");
    const top = u.slice();
    top[31]! |= 0x80;
    assert.not.ok(isX25519FormOf(identity.publicKey, top), "u with its top bit set");
  }
  // y ≥ p: the non-canonical encodings of y = 0..18 (y = 2 gives u = -3), and y = 1 (no u).
  const y2 = le32(P + 2n);
  assert.not.ok(isX25519FormOf(y2, le32(P - 3n)), "y = p + 2 is not canonical");
  assert.ok(isX25519FormOf(le32(2n), le32(P - 3n)), "while y = 2 gives u = -3");
  assert.not.ok(isX25519FormOf(le32(1n), le32(0n)), "y = 1 has no u");
  const pow = (b: bigint, e: bigint): bigint => (e === 0n ? 1n : (pow((b * b) % P, e >> 1n) * (e & 1n ? b : 1n)) % P);
  const yOfU5 = (4n * pow(6n, P - 2n)) % P; // y = (u − 1)/(u + 1) for u = 5
  assert.ok(isX25519FormOf(le32(yOfU5), le32(5n)), "u = 5");
  assert.not.ok(isX25519FormOf(le32(yOfU5), le32(P + 5n)), "u = p + 5 is not canonical");
  assert.not.ok(isX25519FormOf(new Uint8Array(31), new Uint8Array(32)), "wrong length");
});

id.run();
