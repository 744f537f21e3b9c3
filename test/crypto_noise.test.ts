import { suite } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import { x25519 } from "@noble/curves/ed25519.js";
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import { bytesToHex as hex, randomBytes } from "@noble/hashes/utils.js";
import {
  CipherState,
  HandshakeState,
  SymmetricState,
  type HandshakePattern,
  _useX25519,
} from "../src/crypto/noise.ts";
import { type KeyPair, nativeX25519, _nobleX25519, type X25519 } from "../src/crypto/x25519.ts";
import { _nativeHmacBlake2b, _nobleHmacBlake2b } from "../src/crypto/blake2b.ts";

type NoiseVector = {
  protocol_name: string;
  init_prologue: string;
  init_static?: string;
  init_ephemeral: string;
  init_remote_static?: string;
  resp_prologue: string;
  resp_static: string;
  resp_ephemeral: string;
  handshake_hash: string;
  messages: { payload: string; ciphertext: string }[];
};
const vectors = (JSON.parse(readFileSync("test/vectors/noise.json", "utf8")) as { vectors: NoiseVector[] }).vectors;

const keyPair = (secretHex: string): KeyPair => {
  const secretKey = hexToBytes(secretHex);
  return { secretKey, publicKey: x25519.getPublicKey(secretKey) };
};
const patternOf = (name: string) => name.split("_")[1] as HandshakePattern;
const zeroed = (a: Uint8Array) => a.every((b) => b === 0);

/** Builds both sides of a vector, with the ephemeral keys it pins. */
function sides(v: NoiseVector): [HandshakeState, HandshakeState] {
  const pattern = patternOf(v.protocol_name);
  const init = new HandshakeState({
    pattern,
    initiator: true,
    prologue: hexToBytes(v.init_prologue),
    e: keyPair(v.init_ephemeral),
    ...(v.init_static ? { s: keyPair(v.init_static) } : {}),
    ...(v.init_remote_static ? { rs: hexToBytes(v.init_remote_static) } : {}),
  });
  const resp = new HandshakeState({
    pattern,
    initiator: false,
    prologue: hexToBytes(v.resp_prologue),
    s: keyPair(v.resp_static),
    e: keyPair(v.resp_ephemeral),
  });
  return [init, resp];
}

function handshake(pattern: HandshakePattern): [HandshakeState, HandshakeState] {
  const si = x25519.keygen();
  const sr = x25519.keygen();
  const init = new HandshakeState({ pattern, initiator: true, prologue: new Uint8Array(0), s: si, rs: sr.publicKey });
  const resp = new HandshakeState({ pattern, initiator: false, prologue: new Uint8Array(0), s: sr });
  let [from, to] = [init, resp];
  while (!init.isComplete || !resp.isComplete) {
    to.readMessage(from.writeMessage(new Uint8Array(0)));
    [from, to] = [to, from];
  }
  return [init, resp];
}

const vec = suite("crypto/noise vectors (cacophony)");

/** Every X25519 this runtime has: each one runs every vector. */
const _nativeX25519 = nativeX25519();
const implementations: X25519[] = [_nobleX25519, ...(_nativeX25519 ? [_nativeX25519] : [])];

/** `fn` with every handshake on `impl`, restoring the default afterwards. */
const using = (impl: X25519, fn: () => void) => () => {
  const previous = _useX25519(impl);
  try {
    fn();
  } finally {
    _useX25519(previous);
  }
};

for (const impl of implementations) for (const v of vectors) {
  vec(`${v.protocol_name} (${impl.name}): every message, handshake hash, transport`, using(impl, () => {
    const [init, resp] = sides(v);
    const count = v.messages.length;
    let transport: { send: CipherState; recv: CipherState }[] | undefined;
    let hsMessages = 0;
    for (const [i, m] of v.messages.entries()) {
      const initiatorSends = i % 2 === 0;
      const [sender, receiver] = initiatorSends ? [init, resp] : [resp, init];
      const payload = hexToBytes(m.payload);
      if (transport === undefined) {
        const ct = sender.writeMessage(payload);
        assert.is(bytesToHex(ct), m.ciphertext, `message ${i}`);
        assert.is(bytesToHex(receiver.readMessage(ct)), m.payload, `payload ${i}`);
        hsMessages++;
        if (init.isComplete) {
          assert.ok(resp.isComplete);
          assert.is(bytesToHex(init.handshakeHash as Uint8Array), v.handshake_hash);
          assert.is(bytesToHex(resp.handshakeHash as Uint8Array), v.handshake_hash);
          const [i1, i2] = init.split();
          const [r1, r2] = resp.split();
          transport = [{ send: i1, recv: r1 }, { send: r2, recv: i2 }];
        }
      } else {
        const { send, recv } = transport[initiatorSends ? 0 : 1] as { send: CipherState; recv: CipherState };
        const ct = send.encryptWithAd(new Uint8Array(0), payload);
        assert.is(bytesToHex(ct), m.ciphertext, `transport message ${i}`);
        assert.is(bytesToHex(recv.decryptWithAd(new Uint8Array(0), ct)), m.payload);
      }
    }
    assert.ok(transport, "handshake completed");
    assert.is(hsMessages, patternOf(v.protocol_name) === "XX" ? 3 : 2);
    assert.ok(count > hsMessages, "vector has transport messages");
  }));

  vec(`${v.protocol_name} (${impl.name}): explicit-nonce transport equals counter transport`, using(impl, () => {
    const [init, resp] = sides(v);
    let i = 0;
    while (!init.isComplete) {
      const [sender, receiver] = i % 2 === 0 ? [init, resp] : [resp, init];
      const m = v.messages[i++] as { payload: string };
      receiver.readMessage(sender.writeMessage(hexToBytes(m.payload)));
    }
    const [i1] = init.split();
    const [r1] = resp.split();
    // The first initiator transport message of the vector is encrypted with nonce 0.
    const first = v.messages[i % 2 === 0 ? i : i + 1] as { payload: string; ciphertext: string };
    const ct = i1.encryptWithNonce(0, new Uint8Array(0), hexToBytes(first.payload));
    assert.is(bytesToHex(ct), first.ciphertext);
    assert.is(bytesToHex(r1.decryptWithNonce(0n, new Uint8Array(0), ct)), first.payload);
    assert.throws(() => r1.decryptWithNonce(1, new Uint8Array(0), ct), /authentication/);
  }));
}

vec.run();

const native = suite("crypto/noise X25519: node:crypto gives noble's answer, faster");

/** The bytes, or "throws": what a handshake would see. */
const outcome = (impl: X25519, kp: KeyPair, publicKey: Uint8Array) => {
  try {
    return hex(impl.dh(kp, publicKey));
  } catch {
    return "throws";
  }
};

native("used wherever the runtime offers node:crypto synchronously (Node ≥ 20.16, Deno 2)", () => {
  const process = (globalThis as { process?: { getBuiltinModule?: unknown } }).process;
  if (typeof process?.getBuiltinModule !== "function") return; // a runtime without it: noble only
  assert.is(_nativeX25519?.name, "node:crypto");
  const previous = _useX25519(_nobleX25519);
  assert.is(previous, _nativeX25519, "the default");
  _useX25519(previous);
});

native("random secrets with random keys and random bytes: the same shared secret", () => {
  if (!_nativeX25519) return;
  const fallbacks = _nativeX25519.fallbacks;
  for (let i = 0; i < 300; i++) {
    const secretKey = randomBytes(32); // unclamped: both clamp
    const kp = { secretKey, publicKey: x25519.getPublicKey(secretKey) };
    const other = i % 2 ? x25519.keygen().publicKey : randomBytes(32); // random bytes: top bit, twist, u ≥ p
    const expected = outcome(_nobleX25519, kp, other);
    assert.is.not(expected, "throws");
    assert.is(outcome(_nativeX25519, kp, other), expected, `case ${i}`);
  }
  assert.is(_nativeX25519.fallbacks, fallbacks, "node:crypto computed every one itself");
});

native("low-order and non-canonical public keys: the same answer (a throw for every low-order one)", () => {
  if (!_nativeX25519) return;
  const p = (1n << 255n) - 19n;
  const le = (n: bigint) => hexToBytes(n.toString(16).padStart(64, "0")).reverse();
  const order8 = ["e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800", "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157"];
  const lowOrder = [le(0n), le(1n), le(p - 1n), le(p), le(p + 1n), ...order8.map(hexToBytes)];
  const withTopBit = (b: Uint8Array) => b.map((x, i) => (i === 31 ? x | 0x80 : x));
  const kp = x25519.keygen();
  const fallbacks = _nativeX25519.fallbacks as number;
  for (const u of [...lowOrder, ...lowOrder.map(withTopBit)]) {
    assert.is(outcome(_nobleX25519, kp, u), "throws", hex(u));
    assert.is(outcome(_nativeX25519, kp, u), "throws", hex(u));
  }
  assert.is(_nativeX25519.fallbacks, fallbacks + 2 * lowOrder.length, "noble decided every low-order one");
  for (const u of [le(9n), le(p + 9n), le((1n << 255n) - 1n), withTopBit(le(9n)), withTopBit(le(p - 2n)), le(p - 2n)]) {
    const expected = outcome(_nobleX25519, kp, u);
    assert.is.not(expected, "throws");
    assert.is(outcome(_nativeX25519, kp, u), expected, hex(u));
  }
  assert.is(_nativeX25519.fallbacks, fallbacks + 2 * lowOrder.length, "node:crypto computed the others itself");
});

native("keygen: a fresh pair each time, whose public key noble derives from its secret", () => {
  if (!_nativeX25519) return;
  const seen = new Set<string>();
  const fallbacks = _nativeX25519.fallbacks;
  for (let i = 0; i < 20; i++) {
    const kp = _nativeX25519.keygen();
    assert.equal(kp.publicKey, x25519.getPublicKey(kp.secretKey));
    seen.add(hex(kp.secretKey));
  }
  assert.is(seen.size, 20);
  assert.is(_nativeX25519.fallbacks, fallbacks, "node:crypto made every one");
});

native("IK handshakes across implementations: node:crypto on one side, noble on the other", () => {
  if (!_nativeX25519) return;
  /** `fn()` with every handshake on `impl`. */
  const on = <T>(impl: X25519, fn: () => T): T => {
    const previous = _useX25519(impl);
    try {
      return fn();
    } finally {
      _useX25519(previous);
    }
  };
  for (const [initiator, responder] of [[_nativeX25519, _nobleX25519], [_nobleX25519, _nativeX25519]] as const) {
    const sr = x25519.keygen();
    const si = x25519.keygen();
    const init = new HandshakeState({ pattern: "IK", initiator: true, prologue: new Uint8Array(0), s: si, rs: sr.publicKey });
    const resp = new HandshakeState({ pattern: "IK", initiator: false, prologue: new Uint8Array(0), s: sr });
    const m1 = on(initiator, () => init.writeMessage(Uint8Array.of(1)));
    assert.equal(on(responder, () => resp.readMessage(m1)), Uint8Array.of(1));
    const m2 = on(responder, () => resp.writeMessage(new Uint8Array(0)));
    on(initiator, () => init.readMessage(m2));
    assert.ok(init.isComplete && resp.isComplete);
    assert.equal(init.handshakeHash, resp.handshakeHash);
  }
});

native("a key used in many DH keeps its answers: the same as noble's, call after call", () => {
  if (!_nativeX25519) return;
  const mine = [_nativeX25519.keygen(), x25519.keygen()]; // a key object made by keygen, and one imported
  const theirs = Array.from({ length: 10 }, () => x25519.keygen().publicKey);
  for (let round = 0; round < 3; round++) {
    for (const kp of mine) for (const u of theirs) assert.equal(_nativeX25519.dh(kp, u), _nobleX25519.dh(kp, u));
  }
});

native("HMAC-BLAKE2b of node:crypto equals noble's: keys and inputs across the 128-byte block", () => {
  const process = (globalThis as { process?: { getBuiltinModule?: unknown } }).process;
  if (typeof process?.getBuiltinModule === "function") assert.ok(_nativeHmacBlake2b, "node:crypto is used where the runtime has it");
  if (!_nativeHmacBlake2b) return;
  for (const keyLength of [0, 1, 32, 64, 127, 128, 129, 200]) {
    for (const dataLength of [0, 1, 65, 128, 129, 300]) {
      const key = randomBytes(keyLength), data = randomBytes(dataLength);
      const expected = _nobleHmacBlake2b(key, data);
      assert.equal(_nativeHmacBlake2b(key, data), expected, `${keyLength}/${dataLength}`);
      assert.equal(_nativeHmacBlake2b(key, data.subarray(0, dataLength >> 1), data.subarray(dataLength >> 1)), expected, "in two parts");
    }
  }
});

native.run();

const hs = suite("crypto/noise handshake");

for (const pattern of ["IK", "XX", "NK"] as const) {
  hs(`${pattern}: random keys agree, remote static learned, traffic flows both ways`, () => {
    const [init, resp] = handshake(pattern);
    assert.equal(init.handshakeHash, resp.handshakeHash);
    if (pattern !== "NK") assert.ok(resp.remoteStatic, "responder learns the initiator");
    assert.ok(init.remoteStatic);
    const [is, ir] = init.split();
    const [rr, rs] = resp.split();
    const ad = Uint8Array.of(1, 2, 3);
    assert.equal(rr.decryptWithNonce(7, ad, is.encryptWithNonce(7, ad, Uint8Array.of(42))), Uint8Array.of(42));
    assert.equal(ir.decryptWithAd(ad, rs.encryptWithAd(ad, Uint8Array.of(43))), Uint8Array.of(43));
  });
}

hs("IK: responder learns the initiator's static key", () => {
  const si = x25519.keygen();
  const sr = x25519.keygen();
  const init = new HandshakeState({ pattern: "IK", initiator: true, prologue: new Uint8Array(0), s: si, rs: sr.publicKey });
  const resp = new HandshakeState({ pattern: "IK", initiator: false, prologue: new Uint8Array(0), s: sr });
  assert.is(resp.remoteStatic, undefined);
  const payload = resp.readMessage(init.writeMessage(Uint8Array.of(9)));
  assert.equal(payload, Uint8Array.of(9));
  assert.equal(resp.remoteStatic, si.publicKey);
  assert.not.ok(resp.isComplete);
  init.readMessage(resp.writeMessage(new Uint8Array(0)));
  assert.ok(init.isComplete && resp.isComplete);
});

hs("every flipped bit and every truncation of message 1 and 2 is rejected, state unchanged", () => {
  const v = vectors.find((x) => x.protocol_name.includes("_IK_")) as NoiseVector;
  const [init, resp] = sides(v);
  const m1 = init.writeMessage(hexToBytes((v.messages[0] as { payload: string }).payload));
  for (let bit = 0; bit < m1.length * 8; bit += 7) {
    const bad = m1.slice();
    bad[bit >> 3]! ^= 1 << (bit & 7);
    assert.throws(() => resp.readMessage(bad), undefined, `bit ${bit}`);
  }
  for (const len of [0, 31, 32, 48, 79, 80, m1.length - 1]) assert.throws(() => resp.readMessage(m1.subarray(0, len)));
  assert.throws(() => resp.readMessage(new Uint8Array(65536)), RangeError);
  // The genuine message still reads after every forgery: a forged packet cannot kill a handshake.
  resp.readMessage(m1);
  const m2 = resp.writeMessage(hexToBytes((v.messages[1] as { payload: string }).payload));
  const bad = m2.slice();
  bad[bad.length - 1]! ^= 0x80;
  assert.throws(() => init.readMessage(bad), /authentication/);
  assert.throws(() => init.readMessage(m2.subarray(0, 40)));
  init.readMessage(m2);
  assert.is(bytesToHex(init.handshakeHash as Uint8Array), v.handshake_hash);
});

hs("wrong prologue or wrong responder key fails", () => {
  const sr = x25519.keygen();
  const other = x25519.keygen();
  const si = x25519.keygen();
  const mk = (prologue: string, rs: Uint8Array) =>
    new HandshakeState({ pattern: "IK", initiator: true, prologue: new TextEncoder().encode(prologue), s: si, rs });
  const resp = () => new HandshakeState({ pattern: "IK", initiator: false, prologue: new TextEncoder().encode("chat/1"), s: sr });
  assert.throws(() => resp().readMessage(mk("chat/2", sr.publicKey).writeMessage(new Uint8Array(0))), /authentication/);
  assert.throws(() => resp().readMessage(mk("chat/1", other.publicKey).writeMessage(new Uint8Array(0))), /authentication/);
  resp().readMessage(mk("chat/1", sr.publicKey).writeMessage(new Uint8Array(0)));
});

hs("low-order remote keys abort the handshake", () => {
  const sr = x25519.keygen();
  const lowOrder = new Uint8Array(32); // u = 0
  const init = new HandshakeState({ pattern: "NK", initiator: true, prologue: new Uint8Array(0), rs: lowOrder });
  assert.throws(() => init.writeMessage(new Uint8Array(0)));
  const resp = new HandshakeState({ pattern: "NK", initiator: false, prologue: new Uint8Array(0), s: sr });
  const msg = new Uint8Array(48);
  msg[0] = 1; // u = 1, low order
  assert.throws(() => resp.readMessage(msg));
});

hs("turn order, missing keys, split once", () => {
  const sr = x25519.keygen();
  assert.throws(() => new HandshakeState({ pattern: "IK", initiator: true, prologue: new Uint8Array(0), s: sr }), /rs/);
  assert.throws(() => new HandshakeState({ pattern: "IK", initiator: false, prologue: new Uint8Array(0) }), /static key/);
  assert.throws(() => new HandshakeState({ pattern: "XX", initiator: true, prologue: new Uint8Array(0) }), /static key/);
  assert.throws(() => new HandshakeState({ pattern: "KK" as HandshakePattern, initiator: true, prologue: new Uint8Array(0) }), RangeError);
  const init = new HandshakeState({ pattern: "NK", initiator: true, prologue: new Uint8Array(0), rs: sr.publicKey });
  const resp = new HandshakeState({ pattern: "NK", initiator: false, prologue: new Uint8Array(0), s: sr });
  assert.throws(() => init.readMessage(new Uint8Array(48)), /write/);
  assert.throws(() => resp.writeMessage(new Uint8Array(0)), /read/);
  assert.throws(() => init.split(), /not complete/);
  resp.readMessage(init.writeMessage(new Uint8Array(0)));
  init.readMessage(resp.writeMessage(new Uint8Array(0)));
  assert.throws(() => init.writeMessage(new Uint8Array(0)), /complete/);
  init.split();
  assert.throws(() => init.split(), /already/);
});

hs("split() wipes ephemeral secrets, static copy, ck, h and k", () => {
  const si = x25519.keygen();
  const sr = x25519.keygen();
  const init = new HandshakeState({ pattern: "IK", initiator: true, prologue: new Uint8Array(0), s: si, rs: sr.publicKey });
  const resp = new HandshakeState({ pattern: "IK", initiator: false, prologue: new Uint8Array(0), s: sr });
  resp.readMessage(init.writeMessage(new Uint8Array(0)));
  // Capture the live internals just before the last message completes the handshake.
  const e = init._e as KeyPair;
  const s = init._s as KeyPair;
  const ss = init._ss as SymmetricState;
  const [ck, h, k] = [ss._ck, ss._h, ss._cipher._k as Uint8Array];
  assert.not.ok(zeroed(e.secretKey) || zeroed(ck) || zeroed(h) || zeroed(k));
  init.readMessage(resp.writeMessage(new Uint8Array(0)));
  for (const [name, a] of Object.entries({ e: e.secretKey, s: s.secretKey, ck, h, k })) assert.ok(zeroed(a), `${name} wiped`);
  assert.is(init._e, undefined);
  assert.is(init._ss, undefined);
  assert.is(resp._e, undefined);
  assert.is(resp._ss, undefined);
  assert.not.ok(zeroed(si.secretKey), "the caller's own static key is untouched");
  assert.ok(init.handshakeHash && !zeroed(init.handshakeHash), "a copy of h stays for channel binding");
});

hs("CipherState: destroy zeroes the key; rekey; nonce limits", () => {
  const c = new CipherState();
  assert.not.ok(c.hasKey());
  assert.equal(c.encryptWithAd(new Uint8Array(0), Uint8Array.of(5)), Uint8Array.of(5), "no key: pass-through");
  const key = new Uint8Array(32).fill(7);
  c.initializeKey(key);
  const d = new CipherState();
  d.initializeKey(new Uint8Array(32).fill(7));
  const ct = c.encryptWithAd(new Uint8Array(0), Uint8Array.of(1));
  assert.equal(d.decryptWithAd(new Uint8Array(0), ct), Uint8Array.of(1));
  assert.throws(() => d.decryptWithAd(new Uint8Array(0), ct), /authentication/, "n advanced");
  c.rekey();
  d.rekey();
  assert.equal(d.decryptWithAd(new Uint8Array(0), c.encryptWithAd(new Uint8Array(0), Uint8Array.of(2))), Uint8Array.of(2));
  c.setNonce((1n << 64n) - 1n);
  assert.throws(() => c.encryptWithAd(new Uint8Array(0), Uint8Array.of(1)), /exhausted/);
  assert.throws(() => c.encryptWithNonce((1n << 64n) - 1n, new Uint8Array(0), Uint8Array.of(1)), RangeError);
  assert.throws(() => c.encryptWithNonce(-1, new Uint8Array(0), Uint8Array.of(1)), RangeError);
  assert.throws(() => c.decryptWithNonce(0, new Uint8Array(0), new Uint8Array(15)), /shorter/);
  const live = c._k as Uint8Array;
  c.destroy();
  assert.ok(zeroed(live), "key zeroed");
  assert.not.ok(c.hasKey());
  assert.throws(() => c.encryptWithNonce(0, new Uint8Array(0), Uint8Array.of(1)), /no key/);
});

hs.run();
