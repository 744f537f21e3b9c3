/**
 * ChaCha20-Poly1305 (RFC 8439) for Noise transport messages: node:crypto where the runtime hands
 * it out synchronously (`process.getBuiltinModule`: Node ≥ 20.16, Deno 2; nothing is imported, so
 * this module still runs anywhere), @noble/ciphers otherwise. A data packet is sealed and opened
 * once each; natively that is 2–4× faster for packets of 150–1,200 bytes (measured on Node 20 and
 * Deno 2.9). The platform is used only if it reproduces RFC 8439 §2.8.2's vector, both ways.
 * @module
 */
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { hexToBytes as hex } from "@noble/hashes/utils.js";
import { type NodeCrypto, nodeCrypto } from "./_native.ts";
import { slabAlloc } from "../slab.ts";

const TAG_LEN = 16;
const ALGORITHM = "chacha20-poly1305";

/**
 * An AEAD: `seal` returns `headroom` zero bytes (room for a packet header), then ciphertext ‖ tag;
 * `open` throws unless the tag authenticates.
 */
export interface Aead {
  readonly name: "native" | "noble";
  seal(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, plaintext: Uint8Array, headroom?: number): Uint8Array;
  open(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, sealed: Uint8Array): Uint8Array;
}

export const nobleAead: Aead = {
  name: "noble",
  seal(key, nonce, ad, plaintext, headroom = 0) {
    const out = new Uint8Array(headroom + plaintext.length + TAG_LEN);
    chacha20poly1305(key, nonce, ad).encrypt(plaintext, out.subarray(headroom));
    return out;
  },
  open: (key, nonce, ad, sealed) => chacha20poly1305(key, nonce, ad).decrypt(sealed),
};

function nativeAead(crypto: NodeCrypto): Aead {
  const opts = { authTagLength: TAG_LEN };
  return {
    name: "native",
    seal(key, nonce, ad, plaintext, headroom = 0) {
      const cipher = crypto.createCipheriv(ALGORITHM, key, nonce, opts);
      if (ad.length) cipher.setAAD(ad, { plaintextLength: plaintext.length });
      const body = cipher.update(plaintext);
      cipher.final();
      const out = slabAlloc(headroom + body.length + TAG_LEN);
      out.set(body, headroom);
      out.set(cipher.getAuthTag(), headroom + body.length);
      return out;
    },
    open(key, nonce, ad, sealed) {
      if (sealed.length < TAG_LEN) throw new Error("Cannot open: shorter than its tag");
      const length = sealed.length - TAG_LEN;
      const decipher = crypto.createDecipheriv(ALGORITHM, key, nonce, opts);
      decipher.setAuthTag(sealed.subarray(length));
      if (ad.length) decipher.setAAD(ad, { plaintextLength: length });
      const body = decipher.update(sealed.subarray(0, length));
      decipher.final(); // RFC 8439 §2.8: throws unless the tag is right; `body` is then never used
      return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
    },
  };
}

/** RFC 8439 §2.8.2: the platform must give these bytes and open them, or it is not used. */
function selfTest(aead: Aead): boolean {
  const key = hex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
  const nonce = hex("070000004041424344454647");
  const ad = hex("50515253c0c1c2c3c4c5c6c7");
  const text = new TextEncoder().encode(
    "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.");
  const sealed = aead.seal(key, nonce, ad, text);
  const expected = nobleAead.seal(key, nonce, ad, text);
  if (sealed.length !== expected.length || sealed.some((b, i) => b !== expected[i])) return false;
  if (hex("1ae10b594f09e26a7e902ecbd0600691").some((b, i) => b !== sealed[text.length + i])) return false;
  const opened = aead.open(key, nonce, ad, sealed);
  if (opened.length !== text.length || opened.some((b, i) => b !== text[i])) return false;
  sealed[0]! ^= 1;
  try {
    aead.open(key, nonce, ad, sealed);
    return false;
  } catch {
    return true;
  }
}

function load(): Aead {
  try {
    const crypto = nodeCrypto();
    if (typeof crypto?.createCipheriv !== "function" || typeof crypto.createDecipheriv !== "function") return nobleAead;
    const aead = nativeAead(crypto);
    return selfTest(aead) ? aead : nobleAead;
  } catch {
    return nobleAead;
  }
}

let chosen: Aead | undefined;

/** The AEAD transport messages use: loaded (and checked) on first use. */
export function transportAead(): Aead {
  return (chosen ??= load());
}

/** The platform's AEAD, or undefined where the runtime has none (tests compare it with noble). */
export function _nativeAead(): Aead | undefined {
  const aead = load();
  return aead.name === "native" ? aead : undefined;
}

/** Makes transport messages use `aead` (tests run both paths); returns the previous one. */
export function _useAead(aead: Aead): Aead {
  const previous = transportAead();
  chosen = aead;
  return previous;
}
