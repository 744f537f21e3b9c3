// Passphrase protection of an identity seed: scrypt (RFC 7914) derives a key, XChaCha20-Poly1305
// seals the seed. The public key text is the associated data, so a file whose public key was
// swapped for another fails to open instead of yielding a mismatched identity.
// scrypt and the cipher are loaded only when a passphrase is used: a plain identity file is read
// at every command's start, and needs neither.
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

export interface ScryptParams {
  logN: number;
  r: number;
  p: number;
}

/** 2^17 × r=8: 128 MiB and ~0.7 s in pure JS; costly to brute-force, bearable once per command. */
export const SCRYPT_DEFAULT = { logN: 17, r: 8, p: 1 } as const;
/**
 * What a file may ask for. Memory is 128·r·N bytes: at most twice the default's, far below the
 * 1 GiB that @noble/hashes refuses (so every accepted file opens), and a hostile file cannot make
 * us allocate gigabytes. Work N·r·p: at least a quarter of the default's (below that a
 * passphrase is cheap to guess), at most 8 times it (a few seconds).
 */
export const SCRYPT_LIMITS = { maxMemory: 256 * 2 ** 20, minWork: 2 ** 18, maxWork: 2 ** 23, maxP: 4 } as const;

/** Why scrypt parameters are refused, or null if they are within SCRYPT_LIMITS. */
export function scryptProblem(s: ScryptParams): string | null {
  const { logN, r, p } = s;
  if (![logN, r, p].every(Number.isSafeInteger) || logN < 1 || logN > 30 || r < 1 || p < 1) return "scrypt parameters must be positive integers";
  if (p > SCRYPT_LIMITS.maxP) return `scrypt p ${p} is above ${SCRYPT_LIMITS.maxP}`;
  const N = 2 ** logN;
  if (128 * r * N > SCRYPT_LIMITS.maxMemory) return `scrypt memory 128·r·2^logN = ${(128 * r * N) / 2 ** 20} MiB is above ${SCRYPT_LIMITS.maxMemory / 2 ** 20} MiB`;
  if (N * r * p < SCRYPT_LIMITS.minWork) return `scrypt work 2^logN·r·p = ${N * r * p} is below ${SCRYPT_LIMITS.minWork}: too weak`;
  if (N * r * p > SCRYPT_LIMITS.maxWork) return `scrypt work 2^logN·r·p = ${N * r * p} is above ${SCRYPT_LIMITS.maxWork}`;
  return null;
}

function checkParams(s: ScryptParams): void {
  const problem = scryptProblem(s);
  if (problem) throw new RangeError(problem);
}

async function deriveKey(passphrase: string, salt: Uint8Array, s: ScryptParams) {
  const { scryptAsync } = await import("@noble/hashes/scrypt.js");
  const password = utf8ToBytes(passphrase.normalize("NFKC"));
  try {
    return await scryptAsync(password, salt, { N: 2 ** s.logN, r: s.r, p: s.p, dkLen: 32 });
  } finally {
    password.fill(0);
  }
}

export async function sealSeed(
  seed: Uint8Array,
  passphrase: string,
  publicKeyText: string,
  params: ScryptParams = SCRYPT_DEFAULT,
): Promise<SealedSeed> {
  checkParams(params);
  const salt = randomBytes(16), nonce = randomBytes(24);
  const key = await deriveKey(passphrase, salt, params);
  const { xchacha20poly1305 } = await import("@noble/ciphers/chacha.js");
  const ciphertext = xchacha20poly1305(key, nonce, utf8ToBytes(publicKeyText)).encrypt(seed);
  key.fill(0);
  return {
    kdf: "scrypt", ...params, salt: bytesToHex(salt),
    cipher: "xchacha20-poly1305", nonce: bytesToHex(nonce), ciphertext: bytesToHex(ciphertext),
  };
}

/** Returns the seed, or undefined when the passphrase is wrong or the file was tampered with. */
export async function openSeed(sealed: SealedSeed, passphrase: string, publicKeyText: string): Promise<Uint8Array | undefined> {
  checkParams(sealed);
  const key = await deriveKey(passphrase, hexToBytes(sealed.salt), sealed);
  const { xchacha20poly1305 } = await import("@noble/ciphers/chacha.js");
  try {
    return xchacha20poly1305(key, hexToBytes(sealed.nonce), utf8ToBytes(publicKeyText)).decrypt(hexToBytes(sealed.ciphertext));
  } catch {
    return undefined;
  } finally {
    key.fill(0);
  }
}
