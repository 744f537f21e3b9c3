// The platform's Ed25519 verification through WebCrypto (Node ≥ 20 and Deno 2 both have it, no
// import needed). Measured 4–5× faster than @noble with the key import included (scripts/bench).
// It answers only "the platform accepted this signature"; blind.ts decides what that proves.

let supported: boolean | undefined;

/**
 * true / false as the platform's verifier says, or undefined when it cannot say (no WebCrypto
 * Ed25519 in this runtime, a key it refuses to import, a shared buffer): the caller falls back.
 */
export async function _webcryptoVerify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): Promise<boolean | undefined> {
  const subtle = globalThis.crypto?.subtle;
  if (subtle === undefined || supported === false) return undefined;
  try {
    // The casts only narrow ArrayBufferLike to ArrayBuffer; a shared buffer throws and falls back.
    const key = await subtle.importKey("raw", publicKey as Uint8Array<ArrayBuffer>, { name: "Ed25519" }, false, ["verify"]);
    const ok = await subtle.verify({ name: "Ed25519" }, key, signature as Uint8Array<ArrayBuffer>, message as Uint8Array<ArrayBuffer>);
    supported = true;
    return ok;
  } catch (err) {
    if ((err as { name?: unknown }).name === "NotSupportedError") supported = false;
    return undefined;
  }
}
