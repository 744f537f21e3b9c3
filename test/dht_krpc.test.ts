import { readFileSync } from "node:fs";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { decode, encode } from "../src/bencode.ts";
import { CLIENT_VERSION } from "../src/dht/constants.ts";
import { bep44SignedBuffer, immutableTarget, mutableTarget } from "../src/crypto/record.ts";
import { checkPutItem, verifyItem } from "../src/dht/item.ts";
import {
  decodeAddress, decodeNodes, encodeAddress, encodeNodes, encodeQuery, encodeResponse, parseIPv4, parseMessage, queryWithTid,
} from "../src/dht/krpc.ts";
import { bytes, fromHex, hex, id } from "./_dht.ts";

const test = suite("dht krpc + bep44 items");
const bep44 = JSON.parse(readFileSync("test/vectors/bep44.json", "utf8")) as {
  mutable: { value: string; salt: string; seq: number; signedBuffer: string; publicKey: string; target: string; signature: string }[];
  immutable: { value: string; target: string }[];
};

test("BEP 44 vectors: signed buffers, targets, signatures", () => {
  for (const v of bep44.mutable) {
    const raw = bytes(v.value);
    const salt = v.salt ? bytes(v.salt) : undefined;
    assert.is(Buffer.from(bep44SignedBuffer({ seq: v.seq, v: raw, salt })).toString(), v.signedBuffer);
    const k = fromHex(v.publicKey);
    assert.is(hex(mutableTarget(k, salt)), v.target);
    const sig = fromHex(v.signature);
    assert.ok(verifyItem({ k, sig, seq: v.seq, raw, salt }));
    assert.not.ok(verifyItem({ k, sig, seq: v.seq + 1, raw, salt }), "another seq");
    assert.not.ok(verifyItem({ k, sig, seq: v.seq, raw, salt: bytes("other") }), "another salt");
    const bad = sig.slice();
    bad[63] = bad[63]! ^ 0x10;
    assert.not.ok(verifyItem({ k, sig: bad, seq: v.seq, raw, salt }), "flipped signature bit");
  }
  for (const v of bep44.immutable) assert.is(hex(immutableTarget(bytes(v.value))), v.target);
});

test("strict Ed25519: a non-canonical S (S + L) is rejected", () => {
  const v = bep44.mutable[0]!;
  const sig = fromHex(v.signature);
  // S' = S + L still satisfies the group equation; RFC 8032 §5.1.7 requires S < L.
  let s = 0n;
  for (let i = 31; i >= 0; i--) s = (s << 8n) | BigInt(sig[32 + i]!);
  s += 2n ** 252n + 27742317777372353535851937790883648493n;
  const out = sig.slice();
  for (let i = 0; i < 32; i++) out[32 + i] = Number((s >> BigInt(8 * i)) & 0xffn);
  assert.not.ok(verifyItem({ k: fromHex(v.publicKey), sig: out, seq: v.seq, raw: bytes(v.value) }));
});

test("checkPutItem names what is wrong", () => {
  const k = new Uint8Array(32), sig = new Uint8Array(64);
  assert.throws(() => checkPutItem({ v: new Uint8Array(1000) }), /1005 bytes/);
  assert.throws(() => checkPutItem({ v: 1, k: new Uint8Array(31), sig, seq: 1 }), /"k"/);
  assert.throws(() => checkPutItem({ v: 1, k, sig: new Uint8Array(63), seq: 1 }), /"sig"/);
  assert.throws(() => checkPutItem({ v: 1, k, sig, seq: -1 }), /"seq"/);
  assert.throws(() => checkPutItem({ v: 1, k, sig, seq: 1, salt: new Uint8Array(65) }), /salt/);
  assert.is(checkPutItem({ v: bytes("Hello World!") }).mutable, false);
});

test("compact addresses and node lists", () => {
  const a = { host: "1.2.3.4", port: 6881 };
  assert.equal([...encodeAddress(a)!], [1, 2, 3, 4, 0x1a, 0xe1]);
  assert.equal(decodeAddress(encodeAddress(a)!), a);
  assert.is(encodeAddress({ host: "::1", port: 1 }), null);
  assert.is(encodeAddress({ host: "1.2.3.256", port: 1 }), null);
  assert.is(encodeAddress({ host: "01.2.3.4", port: 1 }), null);
  const nodes = [{ id: id(1), host: "10.0.0.1", port: 1 }, { id: id(2), host: "::1", port: 2 }, { id: id(3), host: "10.0.0.3", port: 3 }];
  const buf = encodeNodes(nodes);
  assert.is(buf.length, 52, "the IPv6 contact is skipped");
  assert.equal(decodeNodes(buf), [nodes[0], nodes[2]]);
  assert.is(decodeNodes(buf.subarray(0, 51)), null);
  const zeroPort = buf.slice();
  zeroPort[24] = 0;
  zeroPort[25] = 0;
  assert.is(decodeNodes(zeroPort)!.length, 1, "port 0 entries are dropped");
});

test("a query template with its transaction id patched in is the query encoded with that id", () => {
  const a = { id: id(1), target: id(2), seq: 5, pad: new Uint8Array(320) };
  for (const readOnly of [false, true]) {
    for (const q of ["get", "find_node", "ping"]) {
      const template = encodeQuery(new Uint8Array(2), q, a, readOnly);
      for (const tid of [0, 1, 0x00ff, 0x1234, 0xff00, 0xffff]) {
        assert.equal(queryWithTid(template, tid), encodeQuery(new Uint8Array([tid >> 8, tid & 0xff]), q, a, readOnly));
      }
    }
  }
});

test("parseIPv4: dotted quads of four numbers up to 255 without leading zeros, nothing else", () => {
  assert.equal([...parseIPv4("0.0.0.0")!], [0, 0, 0, 0]);
  assert.equal([...parseIPv4("255.10.1.0")!], [255, 10, 1, 0]);
  for (const bad of ["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.00", "1..2.3", ".1.2.3", "1.2.3.", "1.2.3.4 ", "::1", "a.b.c.d", "1.2.3.-4", "1000.1.1.1"]) {
    assert.is(parseIPv4(bad), null, bad);
  }
});

test("messages: queries, responses with the BEP 42 ip field, errors, and client version CH", () => {
  const t = new Uint8Array([0, 7]);
  const q = parseMessage(encodeQuery(t, "find_node", { id: id(1), target: id(2) }));
  assert.ok(q && q.y === "q");
  assert.is(q.q, "find_node");
  assert.equal(q.id, id(1));
  const wire = encodeResponse(t, { id: id(3) }, { host: "5.6.7.8", port: 99 });
  const r = parseMessage(wire);
  assert.ok(r && r.y === "r");
  assert.equal(r.ip, { host: "5.6.7.8", port: 99 });
  const dict = decode(wire) as Record<string, Uint8Array>;
  assert.equal([...dict["v"]!], [...CLIENT_VERSION]);
  assert.is(Buffer.from(dict["v"]!.subarray(0, 2)).toString(), "CH");
  const e = parseMessage(encode({ t, y: "e", e: [203, "Bad token"] }));
  assert.equal(e, { y: "e", t, code: 203, message: "Bad token" });
});

test("parseMessage: garbage is null, answerable broken queries are 'bad'", () => {
  const t = bytes("aa");
  assert.is(parseMessage(bytes("not bencode")), null);
  assert.is(parseMessage(encode([1, 2])), null);
  assert.is(parseMessage(encode({ y: "q", q: "ping", a: { id: id(1) } })), null, "no t");
  assert.is(parseMessage(encode({ t: new Uint8Array(17), y: "q", q: "ping", a: { id: id(1) } })), null, "t too long");
  assert.is(parseMessage(encode({ t, y: "z" })), null);
  assert.is(parseMessage(encode({ t, y: "r", r: { id: new Uint8Array(19) } })), null, "bad responder id");
  assert.is(parseMessage(encode({ t, y: "q", q: "ping", a: { id: new Uint8Array(5) } }))?.y, "bad");
  assert.is(parseMessage(encode({ t, y: "q", q: "ping" }))?.y, "bad");
  assert.is(parseMessage(encode({ t, y: "q", a: { id: id(1) } }))?.y, "bad");
  assert.is(parseMessage(encode({ t, y: "q", q: 5, a: { id: id(1) } }))?.y, "bad");
});

test.run();
