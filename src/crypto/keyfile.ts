// Passphrase protection of an identity seed: scrypt (RFC 7914) derives a key, XChaCha20-Poly1305
// seals the seed. The public key text is the associated data, so a file whose public key was
// swapped for another fails to open instead of yielding a mismatched identity.
import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { scryptAsync } from "@noble/hashes/scrypt.js";
import { bytesToHex, hexToBytes, randomBytes, utf8ToBytes } from "@noble/hashes/utils.js";

export interface SealedSeed {
  kdf: "scrypt";
  logN: number;
  r: number;
  p: number;
  salt: string;
  cipher: "xchacha20-poly1305";
  nonce: string;
  ciphertext: string;
}

/** 2^17 × r=8: 128 MiB and ~0.7 s in pure JS; costly to brute-force, bearable once per command. */
export const SCRYPT_DEFAULT = { logN: 17, r: 8, p: 1 } as const;
/** Upper bounds on what a file may ask for, so a hostile file cannot make us allocate gigabytes. */
const SCRYPT_MAX = { logN: 20, r: 16, p: 4 } as const;

async function deriveKey(passphrase: string, salt: Uint8Array, s: { logN: number; r: number; p: number }) {
  return scryptAsync(utf8ToBytes(passphrase.normalize("NFKC")), salt, { N: 2 ** s.logN, r: s.r, p: s.p, dkLen: 32 });
}

export async function sealSeed(
  seed: Uint8Array,
  passphrase: string,
  publicKeyText: string,
  params: { logN: number; r: number; p: number } = SCRYPT_DEFAULT,
): Promise<SealedSeed> {
  const salt = randomBytes(16), nonce = randomBytes(24);
  const key = await deriveKey(passphrase, salt, params);
  const ciphertext = xchacha20poly1305(key, nonce, utf8ToBytes(publicKeyText)).encrypt(seed);
  key.fill(0);
  return {
    kdf: "scrypt", ...params, salt: bytesToHex(salt),
    cipher: "xchacha20-poly1305", nonce: bytesToHex(nonce), ciphertext: bytesToHex(ciphertext),
  };
}

/** Returns the seed, or undefined when the passphrase is wrong or the file was tampered with. */
export async function openSeed(sealed: SealedSeed, passphrase: string, publicKeyText: string): Promise<Uint8Array | undefined> {
  if (sealed.logN > SCRYPT_MAX.logN || sealed.r > SCRYPT_MAX.r || sealed.p > SCRYPT_MAX.p) {
    throw new RangeError(`scrypt parameters exceed the allowed maximum (logN ${SCRYPT_MAX.logN}, r ${SCRYPT_MAX.r}, p ${SCRYPT_MAX.p})`);
  }
  const key = await deriveKey(passphrase, hexToBytes(sealed.salt), sealed);
  try {
    return xchacha20poly1305(key, hexToBytes(sealed.nonce), utf8ToBytes(publicKeyText)).decrypt(hexToBytes(sealed.ciphertext));
  } catch {
    return undefined;
  } finally {
    key.fill(0);
  }
}
