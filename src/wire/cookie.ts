// Cookies under load, after WireGuard §5.4.7 (docs/PROTOCOL.md §8 specifies the bytes). A
// responder under load answers an initiation with a cookie reply (type 9) instead of doing any
// Diffie-Hellman work; the cookie is a MAC of the source address under a secret that changes every
// 2 minutes, so the responder keeps no state per reply. The initiator sends the same initiation
// again as type 10 with `mac2 = MAC(cookie, packet)`: that proves it receives at its address, which
// a spoofed source cannot. The reply is sealed to whoever knows the responder's static key and is
// bound to the initiation it answers, so an off-path attacker can forge neither.
import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { blake2b } from "@noble/hashes/blake2.js";
import { concatBytes } from "@noble/hashes/utils.js";
import {
  COOKIE_LEN,
  COOKIE_NONCE_LEN,
  COOKIE_REPLY_LEN,
  COOKIE_SECRET_LIFETIME,
  INITIATION_HEADER,
  MAC2_LEN,
  TYPE_COOKIE_REPLY,
  TYPE_INITIATION_COOKIE,
} from "./constants.ts";
import type { Address } from "./session.ts";
import { equalBytes } from "./_bytes.ts";

const COOKIE_LABEL = new TextEncoder().encode("chat/1 cookie");
const utf8 = new TextEncoder();

/** The key that seals cookie replies of the responder whose X25519 static key is `responder`. */
export function cookieKey(responder: Uint8Array): Uint8Array {
  return blake2b(concatBytes(COOKIE_LABEL, responder), { dkLen: 32 });
}

/** `mac2`: keyed BLAKE2b-128 of every byte of the type 10 packet before it. */
export function mac2(cookie: Uint8Array, macked: Uint8Array): Uint8Array {
  return blake2b(macked, { key: cookie, dkLen: MAC2_LEN });
}

/**
 * What a cookie reply is bound to: the initiation's `sender_index · Noise message 1`, which a
 * type 1 packet and its type 10 resend share (bytes 4 to the end of message 1).
 */
function binding(initiation: Uint8Array): Uint8Array {
  return initiation[0] === TYPE_INITIATION_COOKIE ? initiation.subarray(4, initiation.length - MAC2_LEN) : initiation.subarray(4);
}

/** The responder's side: makes cookie replies and checks `mac2`. */
export class CookieJar {
  readonly #key: Uint8Array;
  readonly #random: (n: number) => Uint8Array;
  #secret: Uint8Array;
  #previous: Uint8Array | undefined;
  #changedAt: number;

  constructor(ourStatic: Uint8Array, random: (n: number) => Uint8Array, now: number) {
    this.#key = cookieKey(ourStatic);
    this.#random = random;
    this.#secret = random(32).slice(0, 32);
    this.#changedAt = now;
  }

  /** The type 9 reply to `initiation` (a type 1 or 10 packet) from `from`. */
  reply(initiation: Uint8Array, from: Address, now: number): Uint8Array {
    const nonce = this.#random(COOKIE_NONCE_LEN).slice(0, COOKIE_NONCE_LEN);
    const sealed = xchacha20poly1305(this.#key, nonce, binding(initiation)).encrypt(this.#cookie(this.#current(now), from));
    const out = new Uint8Array(COOKIE_REPLY_LEN);
    out[0] = TYPE_COOKIE_REPLY;
    out.set(initiation.subarray(4, INITIATION_HEADER), 4); // the initiator's sender_index
    out.set(nonce, 8);
    out.set(sealed, 8 + COOKIE_NONCE_LEN);
    return out;
  }

  /** True if a type 10 packet's `mac2` is right for `from` under the current or previous secret. */
  check(packet: Uint8Array, from: Address, now: number): boolean {
    const macked = packet.subarray(0, packet.length - MAC2_LEN);
    const mac = packet.subarray(packet.length - MAC2_LEN);
    for (const secret of [this.#current(now), this.#previous]) {
      if (secret && equalBytes(mac2(this.#cookie(secret, from), macked), mac)) return true;
    }
    return false;
  }

  /** The cookie: BLAKE2b-128 keyed by the secret, of the source address as text `host:port`. */
  #cookie(secret: Uint8Array, from: Address): Uint8Array {
    return blake2b(utf8.encode(`${from.host}:${from.port}`), { key: secret, dkLen: COOKIE_LEN });
  }

  /**
   * The secret of the current 2-minute epoch. Epochs are counted from creation, so a cookie made
   * in one epoch is accepted through the next: for 2 to 4 minutes, whatever the traffic.
   */
  #current(now: number): Uint8Array {
    const epochs = Math.floor((now - this.#changedAt) / COOKIE_SECRET_LIFETIME);
    if (epochs >= 1) {
      this.#previous = epochs === 1 ? this.#secret : undefined;
      this.#secret = this.#random(32).slice(0, 32);
      this.#changedAt += epochs * COOKIE_SECRET_LIFETIME;
    }
    return this.#secret;
  }
}

/**
 * The initiator's side: the cookie inside a type 9 reply to `initiation` (the packet we sent) from
 * the responder whose static key is `responder`, or null if it does not open.
 */
export function openCookieReply(reply: Uint8Array, initiation: Uint8Array, responder: Uint8Array): Uint8Array | null {
  if (reply.length !== COOKIE_REPLY_LEN) return null;
  try {
    return xchacha20poly1305(cookieKey(responder), reply.subarray(8, 8 + COOKIE_NONCE_LEN), binding(initiation))
      .decrypt(reply.subarray(8 + COOKIE_NONCE_LEN));
  } catch {
    return null;
  }
}

/** The type 10 form of a type 1 initiation: the same bytes under type 10, then `mac2`. */
export function withCookie(initiation: Uint8Array, cookie: Uint8Array): Uint8Array {
  const out = new Uint8Array(initiation.length + MAC2_LEN);
  out.set(initiation);
  out[0] = TYPE_INITIATION_COOKIE;
  out.set(mac2(cookie, out.subarray(0, initiation.length)), initiation.length);
  return out;
}
