import { suite } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { bytesToHex, concatBytes, hexToBytes, utf8ToBytes } from "@noble/hashes/utils.js";
import { encode } from "../src/bencode.ts";
import { blindIdentity, signExpanded, verify } from "../src/crypto/blind.ts";
import { generateIdentity, identityFromSeed, type Identity } from "../src/crypto/identity.ts";
import {
  bencodeBytes, bep44SignedBuffer, decodeCompactAddress, decodeRecordPlaintext, encodeCompactAddress, encodeRecordPlaintext,
  immutableTarget, mutableTarget, openRecord, recordKey, recordLookup, recordTarget, relayTag, sealRecord, type RecordItem,
} from "../src/crypto/record.ts";

type Chat1Case = {
  seed: string; publicKey: string; period: number; blindedPublicKey: string; target: string; recordKey: string;
  nonce: string; plaintext: string; v: string; seq: number; signedBuffer: string; sig: string;
};
type Bep44 = {
  mutable: { name: string; value: string; salt: string; seq: number; signedBuffer: string; publicKey: string; target: string }[];
  immutable: { name: string; value: string; target: string }[];
};
type RelayCase = {
  secret: string; tag: string; relayAddress: string; seed: string; period: number; nonce: string; plaintext: string;
  v: string; seq: number; sig: string;
};
const chat1 = JSON.parse(readFileSync("test/vectors/chat1.json", "utf8")) as { cases: Chat1Case[]; relayCases: RelayCase[] };
const { cases, relayCases } = chat1;
const bep44 = JSON.parse(readFileSync("test/vectors/bep44.json", "utf8")) as Bep44;
const flip = (b: Uint8Array, bit: number) => { const c = b.slice(); c[bit >> 3]! ^= 1 << (bit & 7); return c; };

/** The addresses the vectors' plaintexts hold. */
const vectorAddresses = [{ host: "127.0.0.1", port: 4000 }, { host: "::ffff:127.0.0.1", port: 8000 }];

const b44 = suite("crypto/record BEP 44");

b44("signed buffers, with and without salt", () => {
  for (const m of bep44.mutable) {
    const buffer = bep44SignedBuffer({ salt: utf8ToBytes(m.salt), seq: m.seq, v: utf8ToBytes(m.value) });
    assert.is(new TextDecoder().decode(buffer), m.signedBuffer, m.name);
  }
  assert.equal(bep44SignedBuffer({ seq: 1n, v: utf8ToBytes("1:x") }), utf8ToBytes("3:seqi1e1:v1:x"), "salt omitted, bigint seq");
  assert.throws(() => bep44SignedBuffer({ seq: 1.5, v: utf8ToBytes("1:x") }), RangeError);
});

b44("targets: mutable with and without salt, immutable", () => {
  for (const m of bep44.mutable) {
    assert.is(bytesToHex(mutableTarget(hexToBytes(m.publicKey), utf8ToBytes(m.salt))), m.target, m.name);
  }
  for (const m of bep44.immutable) assert.is(bytesToHex(immutableTarget(utf8ToBytes(m.value))), m.target, m.name);
  assert.equal(bencodeBytes(utf8ToBytes("Hello World!")), utf8ToBytes("12:Hello World!"));
});

b44.run();

const vec = suite("crypto/record chat/1 vectors");

for (const c of cases) {
  vec(`seed ${c.seed.slice(0, 8)}…, period ${c.period}: every field, sealed and opened`, () => {
    const identity = identityFromSeed(hexToBytes(c.seed));
    const A = identity.publicKey;
    assert.is(bytesToHex(recordKey(A, c.period)), c.recordKey, "K");
    assert.is(bytesToHex(recordTarget(hexToBytes(c.blindedPublicKey))), c.target, "target");
    const plaintext = hexToBytes(c.plaintext);
    const content = decodeRecordPlaintext(plaintext);
    assert.equal(content, { addresses: vectorAddresses, t: c.seq });
    assert.is(bytesToHex(encodeRecordPlaintext({ addresses: vectorAddresses, t: c.seq })), c.plaintext, "plaintext");

    const sealed = sealRecord(identity, c.period, { addresses: vectorAddresses, t: c.seq }, c.seq, hexToBytes(c.nonce));
    assert.is(bytesToHex(sealed.k), c.blindedPublicKey, "k");
    assert.is(sealed.seq, c.seq, "seq");
    assert.is(bytesToHex(sealed.v), c.v, "v");
    assert.is(bytesToHex(sealed.sig), c.sig, "sig");
    assert.is(bytesToHex(sealed.target), c.target, "target");
    const signed = bep44SignedBuffer({ seq: c.seq, v: bencodeBytes(sealed.v) });
    assert.is(bytesToHex(signed), c.signedBuffer, "signed buffer");
    assert.ok(verify(sealed.sig, signed, sealed.k));

    const item = { k: hexToBytes(c.blindedPublicKey), seq: c.seq, v: hexToBytes(c.v), sig: hexToBytes(c.sig) };
    const opened = openRecord(A, c.period, item, c.seq + 60);
    assert.equal(opened, { ok: true, addresses: vectorAddresses, relays: [], t: c.seq, seq: c.seq });
    const lookup = recordLookup(A, c.period);
    assert.is(bytesToHex(lookup.target), c.target);
    assert.equal(openRecord(lookup, item, c.seq), opened, "the precomputed lookup gives the same answer");
  });
}

for (const c of relayCases) {
  vec(`relay tag of secret ${c.secret.slice(0, 8)}…, and a record with r and a LAN address`, () => {
    const tag = relayTag(hexToBytes(c.secret));
    assert.is(bytesToHex(tag), c.tag, "tag");
    const plaintext = hexToBytes(c.plaintext);
    const content = decodeRecordPlaintext(plaintext);
    assert.ok(content, "plaintext decodes");
    assert.equal(content!.relays, [{ address: decodeCompactAddress(hexToBytes(c.relayAddress))!, tag }], "r");
    assert.is(content!.addresses.length, 2, "a: the public address, then the LAN one");
    assert.is(bytesToHex(encodeRecordPlaintext(content!)), c.plaintext, "plaintext re-encodes byte for byte");
    const identity = identityFromSeed(hexToBytes(c.seed));
    const sealed = sealRecord(identity, c.period, content!, c.seq, hexToBytes(c.nonce));
    assert.is(bytesToHex(sealed.v), c.v, "v");
    assert.is(bytesToHex(sealed.sig), c.sig, "sig");
    const opened = openRecord(identity.publicKey, c.period, { k: sealed.k, seq: c.seq, v: hexToBytes(c.v), sig: hexToBytes(c.sig) }, c.seq);
    assert.equal(opened, { ok: true, addresses: content!.addresses, relays: content!.relays!, t: c.seq, seq: c.seq });
  });
}

vec("r: more than 4 relays, a bad address or a missing tag make a record malformed", () => {
  const tag = new Uint8Array(16).fill(7);
  const relay = { address: { host: "203.0.113.7", port: 6881 }, tag };
  const a = [encodeCompactAddress({ host: "192.0.2.1", port: 1 })];
  const entry = concatBytes(encodeCompactAddress(relay.address), tag);
  assert.throws(() => encodeRecordPlaintext({ addresses: [], relays: Array(5).fill(relay), t: 1 }), RangeError);
  assert.is(decodeRecordPlaintext(encode({ a, r: Array(5).fill(entry), t: 1 })), undefined, "5 relays");
  assert.is(decodeRecordPlaintext(encode({ a, r: [entry.subarray(0, 21)], t: 1 }), ), undefined, "21 bytes");
  assert.is(decodeRecordPlaintext(encode({ a, r: [concatBytes(new Uint8Array(6), tag)], t: 1 })), undefined, "port 0");
  assert.is(decodeRecordPlaintext(encode({ a, r: "x", t: 1 })), undefined, "not a list");
  assert.equal(decodeRecordPlaintext(encode({ a, r: [], t: 1 })), { addresses: [{ host: "192.0.2.1", port: 1 }], t: 1 }, "empty r");
});

vec.run();

const bad = suite("crypto/record rejections");

const alice = generateIdentity();
const p = 500_000;
const t = p * 3600 + 100;
const content = { addresses: [{ host: "192.0.2.1", port: 6881 }], t };
const good = sealRecord(alice, p, content, t);
const open = (item: RecordItem, now = t, A = alice.publicKey, period = p) => openRecord(A, period, item, now);
const reason = (r: ReturnType<typeof openRecord>) => (r.ok ? "ok" : r.reason);

/** A correctly signed record around an arbitrary v: to reach the checks after the signature. */
function signedWith(identity: Identity, period: number, v: Uint8Array, seq = t): RecordItem {
  const key = blindIdentity(identity, period);
  return { k: key.publicKey, seq, v, sig: signExpanded(key, bep44SignedBuffer({ seq, v: bencodeBytes(v) })) };
}
function encrypted(identity: Identity, period: number, plaintext: Uint8Array): Uint8Array {
  const nonce = new Uint8Array(12).fill(9);
  const aad = blindIdentity(identity, period).publicKey;
  return concatBytes(nonce, chacha20poly1305(recordKey(identity.publicKey, period), nonce, aad).encrypt(plaintext));
}

bad("the genuine record opens, fresh nonce each time", () => {
  assert.equal(open(good), { ok: true, addresses: content.addresses, relays: [], t, seq: t });
  assert.not.equal(sealRecord(alice, p, content, t).v, good.v);
});

bad("wrong key, wrong period, tampered k", () => {
  assert.is(reason(open(good, t, generateIdentity().publicKey)), "wrong-key");
  assert.is(reason(open(good, t, alice.publicKey, p + 1)), "wrong-key");
  assert.is(reason(open(good, t, alice.publicKey, p - 1)), "wrong-key");
  assert.is(reason(open({ ...good, k: flip(good.k, 0) })), "wrong-key");
  assert.is(reason(open({ ...good, k: good.k.subarray(0, 31) })), "wrong-key");
});

bad("one flipped bit in v, in sig, a changed seq, truncated v or sig", () => {
  for (let bit = 0; bit < good.v.length * 8; bit += 11) assert.is(reason(open({ ...good, v: flip(good.v, bit) })), "bad-signature", `v bit ${bit}`);
  for (let bit = 0; bit < 512; bit += 7) assert.is(reason(open({ ...good, sig: flip(good.sig, bit) })), "bad-signature", `sig bit ${bit}`);
  assert.is(reason(open({ ...good, seq: t + 1 })), "bad-signature");
  assert.is(reason(open({ ...good, seq: BigInt(t) })), "ok", "a bigint seq from a decoder is fine");
  assert.is(reason(open({ ...good, v: good.v.subarray(0, good.v.length - 1) })), "bad-signature");
  assert.is(reason(open({ ...good, sig: good.sig.subarray(0, 63) })), "bad-signature");
});

bad("signed but undecryptable: flipped ciphertext or tag bit, truncated v, wrong AEAD key or aad", () => {
  for (const bit of [12 * 8, 20 * 8 + 3, good.v.length * 8 - 1]) {
    assert.is(reason(open(signedWith(alice, p, flip(good.v, bit)))), "undecryptable", `bit ${bit}`);
  }
  assert.is(reason(open(signedWith(alice, p, good.v.subarray(0, 27)))), "undecryptable");
  assert.is(reason(open(signedWith(alice, p, good.v.subarray(0, good.v.length - 1)))), "undecryptable");
  // Encrypted for period p + 1 (other K and aad), signed for p.
  assert.is(reason(open(signedWith(alice, p, encrypted(alice, p + 1, encodeRecordPlaintext(content))))), "undecryptable");
});

bad("signed and decryptable but malformed plaintext", () => {
  for (const text of ["", "i5e", "d1:ti5ee", "d1:al3:abce1:ti5ee", "d1:t1:x1:alee", "d1:ali1ee1:ti5ee", "d1:ale1:ti-5ee", "d1:ale1:ti05ee"]) {
    assert.is(reason(open(signedWith(alice, p, encrypted(alice, p, utf8ToBytes(text))))), "malformed", text);
  }
});

bad("t outside [now − 2·PERIOD, now + 300]", () => {
  assert.is(reason(open(good, t + 7200)), "ok");
  assert.is(reason(open(good, t + 7201)), "stale");
  assert.is(reason(open(good, t - 300)), "ok");
  assert.is(reason(open(good, t - 301)), "future");
});

bad("bencode(v) over 1000 bytes", () => {
  const fits = signedWith(alice, p, new Uint8Array(996)); // "996:" + 996 = 1000 bytes
  assert.is(reason(open(fits)), "undecryptable", "1000 bytes passes the size check");
  assert.is(reason(open(signedWith(alice, p, new Uint8Array(997)))), "oversize");
});

bad("sealRecord refuses what it cannot publish", () => {
  const nine = Array.from({ length: 9 }, (_, i) => ({ host: `10.0.0.${i}`, port: 1 }));
  assert.throws(() => sealRecord(alice, p, { addresses: nine, t }, t), RangeError);
  assert.throws(() => sealRecord(alice, p, { addresses: [{ host: "example.org", port: 1 }], t }, t), RangeError);
  assert.throws(() => sealRecord(alice, p, content, -1), RangeError);
  assert.throws(() => sealRecord(alice, p, content, t, new Uint8Array(11)), RangeError);
});

bad("signatureVerified skips only the signature check: every other check still applies", () => {
  const lookup = recordLookup(alice.publicKey, p);
  const verified = { signatureVerified: true };
  const forged = { ...good, sig: flip(good.sig, 3) };
  assert.is(reason(openRecord(lookup, forged, t)), "bad-signature", "checked by default");
  assert.is(reason(openRecord(lookup, forged, t, verified)), "ok", "the caller vouched for it");
  assert.is(reason(openRecord(lookup, { ...good, v: flip(good.v, 200) }, t, verified)), "undecryptable");
  assert.is(reason(openRecord(lookup, { ...good, k: flip(good.k, 0) }, t, verified)), "wrong-key");
  assert.is(reason(openRecord(lookup, good, t + 3 * 3600, verified)), "stale");
});

bad.run();

const codec = suite("crypto/record codecs");

codec("compact addresses: IPv4, IPv6 (RFC 5952 text), round trips", () => {
  const same = [
    "127.0.0.1", "0.0.0.0", "255.255.255.255", "::", "::1", "2001:db8::1", "fe80::", "1:2:3:4:5:6:7:8", "2001:db8::1:0:0:1",
    "2001:db8:0:1:1:1:1:1", "::ffff:192.0.2.1", "1::",
  ];
  for (const host of same) {
    const bytes = encodeCompactAddress({ host, port: 65535 });
    assert.is(bytes.length, host.includes(":") ? 18 : 6, host);
    assert.equal(decodeCompactAddress(bytes), { host, port: 65535 });
  }
  const canonical: Record<string, string> = {
    "2001:DB8:0:0:0:0:0:1": "2001:db8::1", "2001:0db8::0001": "2001:db8::1", "0:0:0:0:0:0:0:0": "::",
    "2001:db8:0:0:1:0:0:1": "2001:db8::1:0:0:1", "::ffff:7f00:1": "::ffff:127.0.0.1", "1:0:0:2:0:0:0:3": "1:0:0:2::3",
    "::1.2.3.4": "::102:304",
  };
  for (const [input, output] of Object.entries(canonical)) {
    assert.is(decodeCompactAddress(encodeCompactAddress({ host: input, port: 1 }))?.host, output, input);
  }
  assert.equal(encodeCompactAddress({ host: "1.2.3.4", port: 0x1a2b }), Uint8Array.of(1, 2, 3, 4, 0x1a, 0x2b));
});

codec("compact addresses: invalid hosts, ports and lengths", () => {
  for (const host of ["1.2.3", "256.1.1.1", "01.2.3.4", "1.2.3.4.5", ":::", "1::2::3", "g::1", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "::1%eth0", "[::1]", "localhost", ""]) {
    assert.throws(() => encodeCompactAddress({ host, port: 1 }), RangeError, host);
  }
  for (const port of [0, 65536, -1, 1.5, NaN]) assert.throws(() => encodeCompactAddress({ host: "1.2.3.4", port }), RangeError);
  for (const len of [0, 5, 7, 17, 19]) assert.is(decodeCompactAddress(new Uint8Array(len)), undefined);
  assert.is(decodeCompactAddress(Uint8Array.of(1, 2, 3, 4, 0, 0)), undefined, "port 0");
});

codec("record plaintext: unknown keys ignored, limits enforced", () => {
  const extra = utf8ToBytes("d1:al6:\x01\x02\x03\x04\x00\x05e1:b3:xyz1:ti9e1:zli1eee");
  assert.equal(decodeRecordPlaintext(extra), { addresses: [{ host: "1.2.3.4", port: 5 }], t: 9 });
  const nine = encode({ a: Array.from({ length: 9 }, () => Uint8Array.of(1, 2, 3, 4, 0, 5)), t: 1 });
  assert.is(decodeRecordPlaintext(nine), undefined, "9 addresses");
  assert.equal(decodeRecordPlaintext(utf8ToBytes("d1:ale1:ti0ee")), { addresses: [], t: 0 });
});

codec("record plaintext: only the canonical encoding is accepted", () => {
  const address = "6:\x01\x02\x03\x04\x00\x05";
  assert.ok(decodeRecordPlaintext(utf8ToBytes(`d1:al${address}e1:ti9ee`)), "the canonical form opens");
  for (const text of [
    `d1:ti9e1:al${address}ee`, // keys out of order
    `d1:al${address}e1:ti09ee`, // leading zero
    `d1:al${address}e1:ti-0ee`, // negative zero
    `d1:al${address}e1:ti9ee0:`, // trailing bytes
    `d1:al${address}e1:ti9e`, // truncated
    `d1:al${address}e1:ti-1ee`, // negative time
    `d1:al${address}e1:ti9e1:ti9ee`, // duplicate key
  ]) assert.is(decodeRecordPlaintext(utf8ToBytes(text)), undefined, text);
});

codec.run();
