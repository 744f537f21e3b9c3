// Transport ChaCha20-Poly1305 (chacha_native.ts): the platform's AEAD must give @noble's bytes on
// every input and reject every tampered one, and Noise transport messages must be the same whichever
// one runs (the vectors of crypto_noise.test.ts pin the bytes for the path chosen at start).
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { bytesToHex, hexToBytes, randomBytes } from "@noble/hashes/utils.js";
import { type Aead, _nativeAead, nobleAead, transportAead, _useAead } from "../src/crypto/chacha_native.ts";
import { CipherState } from "../src/crypto/noise.ts";
import { slabAlloc } from "../src/slab.ts";

const test = suite("crypto: transport ChaCha20-Poly1305, native and @noble");
const native = _nativeAead();
const both: Aead[] = native ? [native, nobleAead] : [nobleAead];
const flip = (b: Uint8Array, bit: number) => { const c = b.slice(); c[bit >> 3]! ^= 1 << (bit & 7); return c; };

test("Node and Deno hand out the native AEAD, and transport messages use it", () => {
  assert.ok(native, "node:crypto chacha20-poly1305 available");
  assert.is(transportAead().name, "native");
});

test("RFC 8439 §2.8.2 on both paths", () => {
  const key = hexToBytes("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
  const nonce = hexToBytes("070000004041424344454647");
  const ad = hexToBytes("50515253c0c1c2c3c4c5c6c7");
  const text = new TextEncoder().encode(
    "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.");
  for (const aead of both) {
    const sealed = aead.seal(key, nonce, ad, text);
    assert.is(bytesToHex(sealed.subarray(0, 16)), "d31a8d34648e60db7b86afbc53ef7ec2", aead.name);
    assert.is(bytesToHex(sealed.subarray(text.length)), "1ae10b594f09e26a7e902ecbd0600691", aead.name);
    assert.equal(aead.open(key, nonce, ad, sealed), text);
  }
});

test("the same bytes for random keys, nonces, AD and sizes 0..1200 and 64 KiB", () => {
  for (let i = 0; i < 300; i++) {
    const key = randomBytes(32), nonce = randomBytes(12);
    const ad = randomBytes(i % 3 === 0 ? 0 : (i * 7) % 70);
    const text = randomBytes(i === 299 ? 65536 : (i * 37) % 1201);
    const expected = nobleAead.seal(key, nonce, ad, text);
    for (const aead of both) {
      assert.equal(aead.seal(key, nonce, ad, text), expected, `${aead.name} seal ${i}`);
      const roomy = aead.seal(key, nonce, ad, text, 16);
      assert.equal([roomy.subarray(0, 16), roomy.subarray(16)], [new Uint8Array(16), expected], `${aead.name} headroom ${i}`);
      assert.equal(aead.open(key, nonce, ad, expected), text, `${aead.name} open ${i}`);
    }
  }
});

test("both reject a flipped bit anywhere, a wrong key, nonce or AD, a truncated or empty input", () => {
  for (let i = 0; i < 40; i++) {
    const key = randomBytes(32), nonce = randomBytes(12), ad = randomBytes(i % 2 ? 0 : 5);
    const text = randomBytes(1 + (i * 31) % 200);
    const sealed = nobleAead.seal(key, nonce, ad, text);
    const bad: [string, () => [Uint8Array, Uint8Array, Uint8Array, Uint8Array]][] = [
      ["ciphertext bit", () => [key, nonce, ad, flip(sealed, (i * 13) % (text.length * 8))]],
      ["tag bit", () => [key, nonce, ad, flip(sealed, text.length * 8 + (i * 7) % 128)]],
      ["key bit", () => [flip(key, i * 5), nonce, ad, sealed]],
      ["nonce bit", () => [key, flip(nonce, i * 2), ad, sealed]],
      ["AD", () => [key, nonce, ad.length ? flip(ad, i) : Uint8Array.of(0), sealed]],
      ["truncated", () => [key, nonce, ad, sealed.subarray(0, sealed.length - 1)]],
      ["tag only", () => [key, nonce, ad, sealed.subarray(text.length)]],
      ["shorter than a tag", () => [key, nonce, ad, sealed.subarray(0, 15)]],
      ["empty", () => [key, nonce, ad, new Uint8Array(0)]],
    ];
    for (const aead of both) {
      for (const [name, args] of bad) assert.throws(() => aead.open(...args()), undefined, `${aead.name}: ${name}`);
    }
  }
});

test("Noise transport messages are the same bytes on both paths, and both refuse tampering", () => {
  const previous = transportAead();
  try {
    const key = randomBytes(32);
    const out: string[] = [];
    for (const aead of both) {
      _useAead(aead);
      const c = new CipherState();
      c.initializeKey(key.slice());
      const packets = [0, 1, 2 ** 32 + 5, Number.MAX_SAFE_INTEGER].map((n) => c.encryptWithNonce(n, new Uint8Array(0), Uint8Array.of(1, 2, 3)));
      out.push(packets.map(bytesToHex).join());
      assert.equal(c.decryptWithNonce(2 ** 32 + 5, new Uint8Array(0), packets[2]!), Uint8Array.of(1, 2, 3));
      assert.throws(() => c.decryptWithNonce(1, new Uint8Array(0), packets[0]!), /authentication/);
      assert.throws(() => c.decryptWithNonce(0, new Uint8Array(0), flip(packets[0]!, 3)), /authentication/);
      // bigint and number counters name the same nonce
      assert.equal(c.encryptWithNonce(2n ** 32n + 5n, new Uint8Array(0), Uint8Array.of(1, 2, 3)), packets[2]);
    }
    assert.is(new Set(out).size, 1);
  } finally {
    _useAead(previous);
  }
});

test("sealed packets cut from shared slabs: each its own bytes, zeroed, aligned; a later one never overwrites an earlier", () => {
  const aead = transportAead();
  const key = randomBytes(32);
  const nonce = new Uint8Array(12);
  const packets: { plain: Uint8Array; sealed: Uint8Array }[] = [];
  for (let i = 0; i < 300; i++) { // ~5 slabs of 64 KiB
    nonce[0] = i;
    const plain = randomBytes(1 + ((i * 97) % 1150));
    packets.push({ plain, sealed: aead.seal(key, nonce, new Uint8Array(0), plain, 16) });
  }
  for (const [i, { plain, sealed }] of packets.entries()) {
    nonce[0] = i;
    assert.ok(sealed.subarray(0, 16).every((b) => b === 0), "headroom still zero");
    assert.equal(aead.open(key, nonce, new Uint8Array(0), sealed.subarray(16)), plain, `packet ${i}`);
  }
  const a = slabAlloc(5), b = slabAlloc(5), big = slabAlloc(65536);
  assert.is(a.buffer, b.buffer);
  assert.is(b.byteOffset - a.byteOffset, 8);
  assert.ok(b.every((x) => x === 0));
  assert.is.not(big.buffer, b.buffer, "a large one is its own allocation");
  assert.is(big.length, 65536);
});

test.run();
