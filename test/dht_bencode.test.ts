import { readFileSync } from "node:fs";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import npmBencode from "bencode";
import { type BDict, BencodeError, type BInput, type BValue, decode, encode, isDict, tryDecode } from "../src/bencode.ts";
import { seededRandom } from "../src/dht/sim.ts";

const test = suite("dht bencode");
const bytes = (s: string) => new TextEncoder().encode(s);
const corpus = JSON.parse(readFileSync("test/vectors/bencode-regressions.json", "utf8")) as {
  invalid: { input?: string; hex?: string; why: string }[];
  valid: { input?: string; hex?: string; bigint?: string }[];
};
const isBencodeError = (e: unknown) => e instanceof BencodeError;
const bytesOf = (v: { input?: string; hex?: string }) =>
  v.hex !== undefined ? Buffer.from(v.hex, "hex") : Buffer.from(v.input!, "latin1");

test("rejects every invalid input of the regression corpus", () => {
  for (const v of corpus.invalid) {
    assert.throws(() => decode(bytesOf(v)), isBencodeError, `${v.why}: ${v.input ?? v.hex}`);
    assert.is(tryDecode(bytesOf(v)), null);
  }
});

test("decodes every valid input of the corpus and re-encodes it byte for byte", () => {
  for (const v of corpus.valid) {
    const buf = bytesOf(v);
    const value = decode(buf);
    if (v.bigint) assert.is(value, BigInt(v.bigint));
    assert.equal(Buffer.from(encode(value)), buf, v.input ?? v.hex);
  }
});

test("integers: exact numbers up to 2^53, bigint beyond", () => {
  assert.is(decode(Buffer.from("i-42e")), -42);
  assert.is(decode(Buffer.from("i9007199254740991e")), Number.MAX_SAFE_INTEGER);
  assert.is(decode(Buffer.from("i9007199254740992e")), 9007199254740992n);
  assert.is(decode(Buffer.from("i9007199254740993e")), 9007199254740993n);
  assert.is(Buffer.from(encode(2n ** 62n)).toString(), "i4611686018427387904e");
  assert.throws(() => encode(1.5), (e: unknown) => e instanceof TypeError);
});

test("dicts are null-prototype and keep prototype-named keys as data", () => {
  const d = decode(Buffer.from("d9:__proto__i1e11:constructori2ee"));
  assert.ok(isDict(d));
  assert.is(Object.getPrototypeOf(d), null);
  assert.is(d["__proto__"], 1);
  assert.is(d["constructor"], 2);
  assert.is(({} as { polluted?: unknown }).polluted, undefined);
});

test("dict keys encode sorted by raw bytes; undefined entries are skipped", () => {
  const out = Buffer.from(encode({ b: 1, a: "x", "\x80": new Uint8Array([1]), z: undefined })).toString("latin1");
  assert.is(out, "d1:a1:x1:bi1e1:\x801:\x01e");
});

test("depth and size limits", () => {
  const deep = Buffer.from("l".repeat(20) + "e".repeat(20));
  assert.ok(decode(deep));
  assert.throws(() => decode(deep, { maxDepth: 10 }), isBencodeError);
  assert.throws(() => decode(Buffer.from("4:abcd"), { maxSize: 5 }), isBencodeError);
});

/** A random bencodable value, for round trips and the cross-check against npm bencode. */
function randomValue(rnd: () => number, depth = 0): BValue {
  const r = rnd();
  if (depth > 3 || r < 0.3) return Uint8Array.from({ length: Math.floor(rnd() * 12) }, () => Math.floor(rnd() * 256));
  if (r < 0.55) return Math.floor((rnd() - 0.5) * 2 ** (rnd() * 52));
  if (r < 0.75) return Array.from({ length: Math.floor(rnd() * 4) }, () => randomValue(rnd, depth + 1));
  const d: Record<string, BValue> = Object.create(null);
  for (let i = Math.floor(rnd() * 4); i > 0; i--) d[String.fromCharCode(97 + Math.floor(rnd() * 26), 97 + Math.floor(rnd() * 26))] = randomValue(rnd, depth + 1);
  return d;
}

test("round trips, and our encoding equals npm bencode's on 2,000 random values", () => {
  const rnd = seededRandom(7);
  for (let i = 0; i < 2000; i++) {
    const v = randomValue(rnd);
    const ours = encode(v);
    assert.equal(Buffer.from(ours), Buffer.from(npmBencode.encode(v as never)));
    assert.equal(Buffer.from(encode(decode(ours))), Buffer.from(ours));
  }
});

test("20,000 random and mutated inputs: only BencodeError, and accepted ones are canonical", () => {
  const rnd = seededRandom(11);
  const seeds = [...corpus.valid.map(bytesOf), ...corpus.invalid.map(bytesOf)];
  for (let i = 0; i < 20_000; i++) {
    let buf: Uint8Array;
    if (i % 2) {
      buf = Uint8Array.from({ length: Math.floor(rnd() * 40) }, () => "ild0123456789e:-x"[Math.floor(rnd() * 17)]!.charCodeAt(0));
    } else {
      buf = Uint8Array.from(seeds[Math.floor(rnd() * seeds.length)]!);
      for (let m = 1 + Math.floor(rnd() * 3); m > 0 && buf.length; m--) buf[Math.floor(rnd() * buf.length)] = Math.floor(rnd() * 256);
    }
    let value: BValue;
    try {
      value = decode(buf);
    } catch (e) {
      assert.instance(e, BencodeError);
      continue;
    }
    assert.equal(Buffer.from(encode(value as BInput)), Buffer.from(buf));
  }
});

test("rawKeys: a value below the top level is checked as strictly but kept as its bencoding", () => {
  const raw = new Set(["v"]);
  const buf = bytes("d1:ad2:id2:xx1:vl0:0:d1:ai1e1:bi-2eeee1:v2:CHe");
  const m = decode(buf, { rawKeys: raw }) as BDict;
  assert.is(Buffer.from((m["a"] as BDict)["v"] as Uint8Array).toString(), "l0:0:d1:ai1e1:bi-2eee", "the exact bytes");
  assert.is(Buffer.from(m["v"] as Uint8Array).toString(), "CH", "the top level is decoded as usual");
  for (const bad of ["d1:ad1:vl0:d1:bi1e1:ai1eeeee", "d1:ad1:vi01eee", "d1:ad1:v3:abee", "d1:ad1:vl-0:eee", "d1:ad1:vi-0eee"]) {
    assert.throws(() => decode(bytes(bad), { rawKeys: raw }), bad);
  }
  const deep = "d1:ad1:v" + "l".repeat(40) + "e".repeat(40) + "ee";
  assert.throws(() => decode(bytes(deep), { rawKeys: raw }), "depth is bounded inside a raw value too");
});

test.run();
