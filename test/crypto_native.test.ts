// The native fast paths (verifyAsync: WebCrypto; verifySync: node:crypto) must give exactly
// verify()'s answer on every input: vectors, random signatures, random bytes and every invalid
// encoding a strict verifier rejects.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { Buffer } from "node:buffer";
import { readFileSync } from "node:fs";
import { ed25519 } from "@noble/curves/ed25519.js";
import { sha512 } from "@noble/hashes/sha2.js";
import { bytesToHex, concatBytes, hexToBytes, randomBytes, utf8ToBytes } from "@noble/hashes/utils.js";
import { blindIdentity, signExpanded, verify, verifyAsync, _strictEncodings } from "../src/crypto/blind.ts";
import { generateIdentity } from "../src/crypto/identity.ts";
import { _webcryptoVerify } from "../src/crypto/_webcrypto.ts";
import { _hasNativeEd25519, _importedKey, verifySync } from "../src/crypto/ed25519_native.ts";
import { b64url, fromB64url } from "../src/crypto/_native.ts";

type Case = { name: string; sig: Uint8Array; msg: Uint8Array; key: Uint8Array };
const chat1 = (JSON.parse(readFileSync("test/vectors/chat1.json", "utf8")) as {
  cases: { signedBuffer: string; sig: string; blindedPublicKey: string }[];
}).cases;
const bep44 = (JSON.parse(readFileSync("test/vectors/bep44.json", "utf8")) as {
  mutable: { name: string; signedBuffer: string; publicKey: string; signature: string }[];
}).mutable;

const L = ed25519.Point.Fn.ORDER;
const P = 2n ** 255n - 19n;
const le = (b: Uint8Array) => BigInt("0x" + (bytesToHex(b.slice().reverse()) || "0"));
const le32 = (n: bigint) => hexToBytes(n.toString(16).padStart(64, "0")).reverse();
const flip = (b: Uint8Array, bit: number) => { const c = b.slice(); c[bit >> 3]! ^= 1 << (bit & 7); return c; };
const T8 = ed25519.Point.fromHex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a");
const signBit = (b: Uint8Array) => b.map((x, i) => (i === 31 ? x ^ 0x80 : x));

function signed(n: number): Case[] {
  const out: Case[] = [];
  for (let i = 0; i < n; i++) {
    const key = blindIdentity(generateIdentity(), i);
    const msg = randomBytes(i % 7 === 0 ? 0 : 1 + (i * 37) % 300);
    const sig = signExpanded(key, msg);
    out.push({ name: `random ${i}`, sig, msg, key: key.publicKey });
    out.push({ name: `random ${i} sig bit`, sig: flip(sig, (i * 53) % 512), msg, key: key.publicKey });
    if (msg.length) out.push({ name: `random ${i} msg bit`, sig, msg: flip(msg, (i * 11) % (msg.length * 8)), key: key.publicKey });
    out.push({ name: `random ${i} key bit`, sig, msg, key: flip(key.publicKey, (i * 29) % 256) });
  }
  return out;
}

/** The strict verifier's rejections, plus the mixed-order signatures only a cofactored check accepts. */
function crafted(): Case[] {
  const key = blindIdentity(generateIdentity(), 1);
  const A = key.publicKey;
  const a = le(key.scalar);
  const msg = utf8ToBytes("3:seqi1e1:v12:Hello World!");
  const sig = signExpanded(key, msg);
  const k = (R: Uint8Array, pub: Uint8Array) => le(sha512(concatBytes(R, pub, msg))) % L;
  const out: Case[] = [{ name: "genuine", sig, msg, key: A }];
  const smallOrder = Array.from({ length: 8 }, (_, i) => T8.multiplyUnsafe(BigInt(i)).toBytes()).flatMap((e) => [e, signBit(e)]);
  for (const R of [...smallOrder, le32(P + 1n), le32(P)]) {
    out.push({ name: `R ${bytesToHex(R)}`, sig: concatBytes(R, le32((k(R, A) * a) % L)), msg, key: A });
  }
  const r = 99n;
  const rB = ed25519.Point.BASE.multiply(r).toBytes();
  for (const bad of [...smallOrder, le32(P + 1n), le32(P), le32(2n)]) {
    out.push({ name: `A ${bytesToHex(bad)}`, sig: concatBytes(rB, le32(r)), msg, key: bad });
  }
  const S = le(sig.subarray(32));
  out.push({ name: "S + L", sig: concatBytes(sig.subarray(0, 32), le32(S + L)), msg, key: A });
  out.push({ name: "S = L", sig: concatBytes(sig.subarray(0, 32), le32(L)), msg, key: A });
  out.push({ name: "S all ones", sig: concatBytes(sig.subarray(0, 32), new Uint8Array(32).fill(255)), msg, key: A });
  // Mixed order: A + T8 with S = r + k·a satisfies 8·S·B = 8·R + 8·k·A but not S·B = R + k·A.
  const mixedA = ed25519.Point.fromBytes(A).add(T8).toBytes();
  const Rm = ed25519.Point.BASE.multiply(r).toBytes();
  out.push({ name: "mixed-order A", sig: concatBytes(Rm, le32((r + k(Rm, mixedA) * a) % L)), msg, key: mixedA });
  const mixedR = ed25519.Point.BASE.multiply(r).add(T8).toBytes();
  out.push({ name: "mixed-order R", sig: concatBytes(mixedR, le32((r + k(mixedR, A) * a) % L)), msg, key: A });
  out.push({ name: "short sig", sig: sig.subarray(0, 63), msg, key: A });
  out.push({ name: "short key", sig, msg, key: A.subarray(0, 31) });
  return out;
}

const vectors: Case[] = [
  ...chat1.map((c, i) => ({ name: `chat/1 ${i}`, sig: hexToBytes(c.sig), msg: hexToBytes(c.signedBuffer), key: hexToBytes(c.blindedPublicKey) })),
  ...bep44.map((m) => ({ name: m.name, sig: hexToBytes(m.signature), msg: utf8ToBytes(m.signedBuffer), key: hexToBytes(m.publicKey) })),
];

const native = suite("crypto/native WebCrypto verification equals noble");

native("the platform has WebCrypto Ed25519, so the fast path is what is tested", async () => {
  const c = vectors[0] as Case;
  assert.is(await _webcryptoVerify(c.sig, c.msg, c.key), true);
  assert.ok(_hasNativeEd25519(), "node:crypto Ed25519 passes RFC 8032 TEST 1 here");
});

native("vectors", async () => {
  for (const c of vectors) {
    assert.ok(verify(c.sig, c.msg, c.key), c.name);
    assert.is(await verifyAsync(c.sig, c.msg, c.key), true, c.name);
    assert.is(verifySync(c.sig, c.msg, c.key), true, c.name);
  }
});

native("random signatures, each also with one flipped bit in sig, message and key", async () => {
  let valid = 0;
  for (const c of signed(60)) {
    const expected = verify(c.sig, c.msg, c.key);
    valid += expected ? 1 : 0;
    assert.is(await verifyAsync(c.sig, c.msg, c.key), expected, c.name);
    assert.is(verifySync(c.sig, c.msg, c.key), expected, c.name);
  }
  assert.is(valid, 60, "exactly the unmodified ones verify");
});

native("random bytes as signature and key", async () => {
  const msg = randomBytes(32);
  for (let i = 0; i < 100; i++) {
    const sig = randomBytes(64);
    const key = i % 2 ? randomBytes(32) : generateIdentity().publicKey;
    assert.is(await verifyAsync(sig, msg, key), verify(sig, msg, key));
    assert.is(verifySync(sig, msg, key), verify(sig, msg, key));
  }
});

native("every crafted invalid encoding is rejected by both; mixed-order cases agree too", async () => {
  for (const c of crafted()) {
    const expected = verify(c.sig, c.msg, c.key);
    assert.is(await verifyAsync(c.sig, c.msg, c.key), expected, c.name);
    assert.is(verifySync(c.sig, c.msg, c.key), expected, c.name);
    if (c.name === "genuine" || c.name.startsWith("mixed-order")) assert.ok(expected, `${c.name} is valid for the cofactored equation`);
    else assert.not.ok(expected, c.name);
  }
});

native("the byte-level prechecks alone reject every bad encoding, before the platform sees it", () => {
  for (const c of crafted()) {
    const encodingOk = c.name === "genuine" || c.name.startsWith("mixed-order") || c.name === `A ${bytesToHex(le32(2n))}`;
    assert.is(_strictEncodings(c.sig, c.key), encodingOk, c.name);
  }
});

native("an imported key is the one asked for, from the cache too and past its size", () => {
  // 300 keys, twice: more than the cache holds, so the first ones are imported again.
  const keys = Array.from({ length: 300 }, () => generateIdentity().publicKey);
  for (let round = 0; round < 2; round++) {
    for (const key of keys) assert.is(_importedKey(key)!.export({ format: "jwk" }).x, b64url(key), `round ${round}`);
  }
  // And the answers stay verify()'s: a signature is checked against its own key, never a cached one.
  const cases = signed(20).filter((c) => /^random \d+( msg bit)?$/.test(c.name));
  for (const c of cases) assert.is(verifySync(c.sig, c.msg, c.key), verify(c.sig, c.msg, c.key), c.name);
  const [good, other] = [cases.find((c) => c.name === "random 1")!, cases.find((c) => c.name === "random 2")!];
  assert.ok(verifySync(good.sig, good.msg, good.key));
  assert.not.ok(verifySync(good.sig, good.msg, other.key), "a signature under another (cached) key");
});

native("base64url of JWK fields: RFC 4648 §5 without padding, for every length and byte", () => {
  const reference = (b: Uint8Array) => Buffer.from(b).toString("base64url");
  for (let n = 0; n <= 70; n++) {
    const bytes = randomBytes(n);
    assert.is(b64url(bytes), reference(bytes), `${n} bytes`);
    assert.equal(fromB64url(b64url(bytes)), bytes);
  }
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  assert.is(b64url(all), reference(all));
  assert.is(b64url(new Uint8Array([0xfb, 0xff])), "-_8");
});

native.run();
