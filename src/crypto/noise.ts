/**
 * The Noise Protocol Framework (revision 34), for `Noise_{IK,XX,NK}_25519_ChaChaPoly_BLAKE2b`.
 * The three objects mirror the spec: CipherState (§5.1) → SymmetricState (§5.2) → HandshakeState
 * (§5.3). chat/1 uses IK (PROTOCOL §6); XX and NK are here because the published vectors pin them
 * and they share every line of code with IK.
 * @module
 */
import { transportAead } from "./chacha_native.ts";
import { blake2b } from "@noble/hashes/blake2.js";
import { hmacBlake2b } from "./blake2b.ts";
import { abytes, ascii, au64, concatBytes, wipe } from "./_utils.ts";
import { _nobleX25519, nativeX25519, DHLEN, type KeyPair, type X25519 } from "./x25519.ts";
export type HandshakePattern = "IK" | "XX" | "NK";

// §4.1, §4.2, §4.3 constants for 25519 / ChaChaPoly / BLAKE2b.
const HASHLEN = 64;
const KEYLEN = 32;
const TAGLEN = 16;
/** §3: Noise messages are at most 65535 bytes. */
export const MAX_MESSAGE_LENGTH = 65535;
/** §5.1: nonce 2^64 − 1 is reserved (for Rekey). */
const MAX_NONCE = (1n << 64n) - 1n;

/** §12.3 ChaChaPoly: the 96-bit nonce is 32 bits of zeros followed by the little-endian u64 n. */
function _nonce(n: bigint): Uint8Array {
  const nonce = new Uint8Array(12);
  new DataView(nonce.buffer).setBigUint64(4, n, true);
  return nonce;
}

/** ChaChaPoly on the platform's AEAD where it has one (chacha_native.ts): the same bytes as @noble. */
function _encrypt(k: Uint8Array, nonce: Uint8Array, ad: Uint8Array, plaintext: Uint8Array, headroom = 0): Uint8Array {
  return transportAead().seal(k, nonce, ad, plaintext, headroom);
}

function _decrypt(k: Uint8Array, nonce: Uint8Array, ad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  if (ciphertext.length < TAGLEN) throw new Error("Cannot decrypt Noise message: shorter than its tag");
  try {
    return transportAead().open(k, nonce, ad, ciphertext);
  } catch {
    throw new Error("Cannot decrypt Noise message: authentication failed");
  }
}

/**
 * §12.3 nonce of an explicit transport counter. A safe-integer counter (every data packet's, PROTOCOL
 * §8) skips the bigint; 2^64 − 1 is reserved for Rekey (§5.1).
 */
function _transportNonce(counter: bigint | number): Uint8Array {
  if (typeof counter === "number" && Number.isSafeInteger(counter) && counter >= 0) {
    // One scratch nonce: the AEAD reads it before returning, and nothing else holds it.
    TRANSPORT_NONCE_VIEW.setUint32(4, counter % 0x1_0000_0000, true);
    TRANSPORT_NONCE_VIEW.setUint32(8, Math.floor(counter / 0x1_0000_0000), true);
    return TRANSPORT_NONCE;
  }
  const n = au64(counter, "counter");
  if (n === MAX_NONCE) throw new RangeError(`"counter" 2^64 - 1 is reserved by the Noise spec`);
  return _nonce(n);
}
const TRANSPORT_NONCE = new Uint8Array(12);
const TRANSPORT_NONCE_VIEW = new DataView(TRANSPORT_NONCE.buffer);

/** §4.3 HKDF(chaining_key, input_key_material, num_outputs) with HMAC-BLAKE2b. */
function _hkdf(ck: Uint8Array, ikm: Uint8Array, outputs: 2 | 3): Uint8Array[] {
  const tempKey = hmacBlake2b(ck, ikm);
  const out1 = hmacBlake2b(tempKey, Uint8Array.of(1));
  const out2 = hmacBlake2b(tempKey, out1, Uint8Array.of(2));
  const out = [out1, out2];
  if (outputs === 3) out.push(hmacBlake2b(tempKey, out2, Uint8Array.of(3)));
  wipe(tempKey);
  return out;
}

/** §5.2: HASHLEN is 64, so a 64-byte HKDF output is truncated to the 32-byte cipher key. */
function _truncateKey(output: Uint8Array): Uint8Array {
  const k = output.slice(0, KEYLEN);
  wipe(output);
  return k;
}

/** §5.1 CipherState: a key `k` (or none) and a 64-bit nonce `n`. */
export class CipherState {
  _k: Uint8Array | undefined = undefined;
  _n = 0n;

  /** §5.1 InitializeKey(key): takes ownership of `key` (it is wiped with this state). */
  initializeKey(key: Uint8Array | undefined): void {
    wipe(this._k);
    this._k = key === undefined ? undefined : abytes(key, KEYLEN, "key");
    this._n = 0n;
  }

  hasKey(): boolean {
    return this._k !== undefined;
  }

  setNonce(nonce: bigint | number): void {
    this._n = au64(nonce, "nonce");
  }

  /** §5.1 EncryptWithAd: with no key the plaintext passes through (early handshake messages). */
  encryptWithAd(ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    if (this._k === undefined) return plaintext.slice();
    if (this._n === MAX_NONCE) throw new Error("Cannot encrypt: Noise nonce exhausted, rekey or start a new session");
    const ciphertext = _encrypt(this._k, _nonce(this._n), ad, plaintext);
    this._n++;
    return ciphertext;
  }

  /** §5.1 DecryptWithAd: on failure `n` is not incremented, so the caller may carry on. */
  decryptWithAd(ad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
    if (this._k === undefined) return ciphertext.slice();
    if (this._n === MAX_NONCE) throw new Error("Cannot decrypt: Noise nonce exhausted, rekey or start a new session");
    const plaintext = _decrypt(this._k, _nonce(this._n), ad, ciphertext);
    this._n++;
    return plaintext;
  }

  /**
   * Transport encryption with an explicit nonce (PROTOCOL §6 `data` packets carry their counter),
   * leaving `n` untouched. Never encrypt twice under one counter: the caller owns that invariant.
   * `headroom` zero bytes come first, so that a packet header can be written in place (no copy).
   */
  encryptWithNonce(counter: bigint | number, ad: Uint8Array, plaintext: Uint8Array, headroom = 0): Uint8Array {
    const nonce = _transportNonce(counter);
    return _encrypt(this._key(), nonce, ad, plaintext, headroom);
  }

  /** Counterpart of {@link encryptWithNonce}; throws if the ciphertext does not authenticate. */
  decryptWithNonce(counter: bigint | number, ad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
    const nonce = _transportNonce(counter);
    return _decrypt(this._key(), nonce, ad, ciphertext);
  }

  /** §4.2 REKEY(k) = first 32 bytes of ENCRYPT(k, 2^64 − 1, zerolen, zeros). */
  rekey(): void {
    const k = this._key();
    const next = _encrypt(k, _nonce(MAX_NONCE), new Uint8Array(0), new Uint8Array(KEYLEN)).subarray(0, KEYLEN);
    wipe(k);
    this._k = next;
  }

  /** Zeroes the key; the state can no longer encrypt or decrypt. */
  destroy(): void {
    wipe(this._k);
    this._k = undefined;
    this._n = 0n;
  }

  _key(): Uint8Array {
    if (this._k === undefined) throw new Error("Cannot use CipherState: it has no key (destroyed or not initialized)");
    return this._k;
  }

  _clone(): CipherState {
    const c = new CipherState();
    c._k = this._k?.slice();
    c._n = this._n;
    return c;
  }
}

/** §5.2 SymmetricState: the chaining key `ck`, the handshake hash `h` and a CipherState. */
export class SymmetricState {
  _ck: Uint8Array;
  _h: Uint8Array;
  _cipher = new CipherState();

  /** §5.2 InitializeSymmetric(protocol_name). */
  constructor(protocolName: Uint8Array) {
    if (protocolName.length <= HASHLEN) {
      this._h = new Uint8Array(HASHLEN);
      this._h.set(protocolName);
    } else {
      this._h = blake2b(protocolName);
    }
    this._ck = this._h.slice();
  }

  mixKey(ikm: Uint8Array): void {
    const [ck, tempK] = _hkdf(this._ck, ikm, 2) as [Uint8Array, Uint8Array];
    wipe(this._ck);
    this._ck = ck;
    this._cipher.initializeKey(_truncateKey(tempK));
  }

  mixHash(data: Uint8Array): void {
    const h = blake2b.create().update(this._h).update(data).digest();
    wipe(this._h);
    this._h = h;
  }

  /** §5.2 MixKeyAndHash: used by PSK patterns only; kept so the object is the spec's. */
  mixKeyAndHash(ikm: Uint8Array): void {
    const [ck, tempH, tempK] = _hkdf(this._ck, ikm, 3) as [Uint8Array, Uint8Array, Uint8Array];
    wipe(this._ck);
    this._ck = ck;
    this.mixHash(tempH);
    wipe(tempH);
    this._cipher.initializeKey(_truncateKey(tempK));
  }

  getHandshakeHash(): Uint8Array {
    return this._h.slice();
  }

  encryptAndHash(plaintext: Uint8Array): Uint8Array {
    const ciphertext = this._cipher.encryptWithAd(this._h, plaintext);
    this.mixHash(ciphertext);
    return ciphertext;
  }

  decryptAndHash(ciphertext: Uint8Array): Uint8Array {
    const plaintext = this._cipher.decryptWithAd(this._h, ciphertext);
    this.mixHash(ciphertext);
    return plaintext;
  }

  /** §5.2 Split(): two transport CipherStates, the first for initiator → responder. */
  split(): [CipherState, CipherState] {
    const [k1, k2] = _hkdf(this._ck, new Uint8Array(0), 2) as [Uint8Array, Uint8Array];
    const c1 = new CipherState();
    const c2 = new CipherState();
    c1.initializeKey(_truncateKey(k1));
    c2.initializeKey(_truncateKey(k2));
    return [c1, c2];
  }

  /** Zeroes ck, h and k. */
  destroy(): void {
    wipe(this._ck, this._h);
    this._cipher.destroy();
  }

  _clone(): SymmetricState {
    const s = Object.create(SymmetricState.prototype) as SymmetricState;
    s._ck = this._ck.slice();
    s._h = this._h.slice();
    s._cipher = this._cipher._clone();
    return s;
  }
}

type Token = "e" | "s" | "ee" | "es" | "se" | "ss";
type PatternSpec = { preResponder: boolean; messages: Token[][] };

/** §7.4 and §7.5: the interactive patterns chat/1 may use. `<- s` is the only pre-message. */
const PATTERNS: Record<HandshakePattern, PatternSpec> = {
  NK: { preResponder: true, messages: [["e", "es"], ["e", "ee"]] },
  IK: { preResponder: true, messages: [["e", "es", "s", "ss"], ["e", "ee", "se"]] },
  XX: { preResponder: false, messages: [["e"], ["e", "ee", "s", "es"], ["s", "se"]] },
};

export type HandshakeOptions = {
  pattern: HandshakePattern;
  initiator: boolean;
  prologue: Uint8Array;
  /** Local static X25519 key pair. */
  s?: KeyPair;
  /** Remote static X25519 public key, known beforehand (IK and NK initiators). */
  rs?: Uint8Array;
  /** Local ephemeral key pair: for test vectors only; normally generated fresh. */
  e?: KeyPair;
};

/** The working set a message is processed on, committed only if the whole message succeeds. */
type Draft = { ss: SymmetricState; e: KeyPair | undefined; re: Uint8Array | undefined; rs: Uint8Array | undefined };

function _keyPair(kp: KeyPair, title: string): KeyPair {
  return {
    secretKey: abytes(kp.secretKey, DHLEN, `${title}.secretKey`).slice(),
    publicKey: abytes(kp.publicKey, DHLEN, `${title}.publicKey`).slice(),
  };
}

let _chosen: X25519 | undefined;
/** node:crypto's X25519 where it checks out, @noble's otherwise: chosen at the first handshake. */
const _x25519 = (): X25519 => (_chosen ??= nativeX25519() ?? _nobleX25519);

/** The X25519 every handshake uses from now on (for tests: both implementations run the vectors). */
export function _useX25519(impl: X25519): X25519 {
  const previous = _x25519();
  _chosen = impl;
  return previous;
}

/** §4.1 DH(): X25519; a low-order public key (all-zero output) throws, aborting the handshake. */
function _dh(kp: KeyPair | undefined, publicKey: Uint8Array | undefined): Uint8Array {
  if (kp === undefined || publicKey === undefined) throw new Error("Noise handshake is missing a key for DH");
  return _x25519().dh(kp, publicKey);
}

/**
 * §5.3 HandshakeState. Each side calls `writeMessage` / `readMessage` in turn; once `isComplete`,
 * `split()` hands over the transport CipherStates (the initiator sends with [0], the responder
 * with [1]) and every handshake secret (ephemeral key, ck, h, k) has already been wiped.
 *
 * A message that fails to read leaves the state as it was, so a forged packet cannot kill a
 * handshake in progress; the caller drops it and may read the genuine one.
 */
export class HandshakeState {
  readonly initiator: boolean;
  readonly protocolName: string;
  _ss: SymmetricState | undefined;
  _s: KeyPair | undefined;
  _e: KeyPair | undefined;
  _rs: Uint8Array | undefined;
  _re: Uint8Array | undefined;
  _messages: Token[][];
  _index = 0;
  _split: [CipherState, CipherState] | undefined;
  _handshakeHash: Uint8Array | undefined;
  _taken = false;

  constructor(opts: HandshakeOptions) {
    const spec = PATTERNS[opts.pattern];
    if (spec === undefined) throw new RangeError(`Unknown Noise pattern "${String(opts.pattern)}": expected IK, XX or NK`);
    this.initiator = opts.initiator;
    this.protocolName = `Noise_${opts.pattern}_25519_ChaChaPoly_BLAKE2b`;
    this._messages = spec.messages;
    this._s = opts.s && _keyPair(opts.s, "s");
    this._e = opts.e && _keyPair(opts.e, "e");
    this._rs = opts.rs && abytes(opts.rs, DHLEN, "rs").slice();
    const side = this.initiator ? "initiator" : "responder";
    const ownTurn = (i: number) => i % 2 === (this.initiator ? 0 : 1);
    const sendsS = spec.messages.some((tokens, i) => ownTurn(i) && tokens.includes("s"));
    if ((sendsS || (spec.preResponder && !this.initiator)) && this._s === undefined) {
      throw new TypeError(`Noise ${opts.pattern} ${side} needs its static key "s"`);
    }
    if (spec.preResponder && this.initiator && this._rs === undefined) {
      throw new TypeError(`Noise ${opts.pattern} ${side} needs the remote static key "rs"`);
    }

    const ss = new SymmetricState(ascii(this.protocolName));
    ss.mixHash(abytes(opts.prologue, undefined, "prologue"));
    // §7.1 pre-messages: `<- s` means both sides hash the responder's static public key.
    if (spec.preResponder) ss.mixHash(this.initiator ? (this._rs as Uint8Array) : (this._s as KeyPair).publicKey);
    this._ss = ss;
  }

  /** True once the last handshake message has been written or read. */
  get isComplete(): boolean {
    return this._index >= this._messages.length;
  }

  /** The remote party's static X25519 public key, once known. */
  get remoteStatic(): Uint8Array | undefined {
    return this._rs?.slice();
  }

  /** The final handshake hash h (channel binding, §11.2); undefined until the handshake completes. */
  get handshakeHash(): Uint8Array | undefined {
    return this._handshakeHash?.slice();
  }

  /** §5.3 WriteMessage: returns the message carrying `payload`. */
  writeMessage(payload: Uint8Array): Uint8Array {
    abytes(payload, undefined, "payload");
    const tokens = this._turn(true);
    const d = this._draft();
    const parts: Uint8Array[] = [];
    try {
      for (const token of tokens) {
        if (token === "e") {
          d.e ??= _x25519().keygen();
          parts.push(d.e.publicKey);
          d.ss.mixHash(d.e.publicKey);
        } else if (token === "s") {
          parts.push(d.ss.encryptAndHash((this._s as KeyPair).publicKey));
        } else {
          this._mixDH(d, token);
        }
      }
      parts.push(d.ss.encryptAndHash(payload));
    } catch (err) {
      this._discard(d);
      throw err;
    }
    const message = concatBytes(...parts);
    if (message.length > MAX_MESSAGE_LENGTH) {
      this._discard(d);
      throw new RangeError(`Noise message of ${message.length} bytes exceeds ${MAX_MESSAGE_LENGTH}`);
    }
    this._commit(d);
    return message;
  }

  /** §5.3 ReadMessage: returns the payload, or throws (leaving the state unchanged). */
  readMessage(message: Uint8Array): Uint8Array {
    abytes(message, undefined, "message");
    if (message.length > MAX_MESSAGE_LENGTH) throw new RangeError(`Noise message of ${message.length} bytes exceeds ${MAX_MESSAGE_LENGTH}`);
    const tokens = this._turn(false);
    const d = this._draft();
    let offset = 0;
    const take = (n: number): Uint8Array => {
      if (offset + n > message.length) throw new Error("Cannot read Noise message: truncated");
      return message.subarray(offset, (offset += n));
    };
    let payload: Uint8Array;
    try {
      for (const token of tokens) {
        if (token === "e") {
          d.re = take(DHLEN).slice();
          d.ss.mixHash(d.re);
        } else if (token === "s") {
          d.rs = d.ss.decryptAndHash(take(d.ss._cipher.hasKey() ? DHLEN + TAGLEN : DHLEN));
        } else {
          this._mixDH(d, token);
        }
      }
      payload = d.ss.decryptAndHash(message.subarray(offset));
    } catch (err) {
      this._discard(d);
      throw err;
    }
    this._commit(d);
    return payload;
  }

  /** The transport CipherStates, handed over once: [initiator → responder, responder → initiator]. */
  split(): [CipherState, CipherState] {
    if (this._split === undefined) {
      throw new Error(this._taken ? "Noise split() was already called" : "Cannot split: the Noise handshake is not complete");
    }
    const pair = this._split;
    this._taken = true;
    this._split = undefined;
    return pair;
  }

  /** Erases every secret the handshake holds, its copy of the static key included (done on completion too). */
  destroy(): void {
    this._ss?.destroy();
    this._ss = undefined;
    wipe(this._e?.secretKey, this._s?.secretKey, this._re);
    this._e = undefined;
    this._s = undefined;
    this._re = undefined;
  }

  _turn(writing: boolean): Token[] {
    const tokens = this._messages[this._index];
    if (tokens === undefined || this._ss === undefined) throw new Error("Noise handshake is already complete or destroyed");
    const initiatorsTurn = this._index % 2 === 0;
    if (writing !== (initiatorsTurn === this.initiator)) {
      throw new Error(`Noise handshake expects to ${writing ? "read" : "write"} message ${this._index + 1} next`);
    }
    return tokens;
  }

  /** §5.3 the DH tokens; es / se name (initiator key, responder key), so each side picks its half. */
  _mixDH(d: Draft, token: Token): void {
    const i = this.initiator;
    let shared: Uint8Array;
    if (token === "ee") shared = _dh(d.e, d.re);
    else if (token === "ss") shared = _dh(this._s, d.rs);
    else if (token === "es") shared = i ? _dh(d.e, d.rs) : _dh(this._s, d.re);
    else shared = i ? _dh(this._s, d.re) : _dh(d.e, d.rs);
    d.ss.mixKey(shared);
    wipe(shared);
  }

  _draft(): Draft {
    return { ss: (this._ss as SymmetricState)._clone(), e: this._e, re: this._re, rs: this._rs };
  }

  _discard(d: Draft): void {
    d.ss.destroy();
    if (d.e !== this._e) wipe(d.e?.secretKey);
  }

  _commit(d: Draft): void {
    this._ss?.destroy();
    this._ss = d.ss;
    this._e = d.e;
    this._re = d.re;
    this._rs = d.rs;
    this._index++;
    if (this.isComplete) {
      this._handshakeHash = d.ss.getHandshakeHash();
      this._split = d.ss.split();
      this.destroy();
    }
  }
}
