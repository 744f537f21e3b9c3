// Opens an identity file in-process, with the passphrase in a named environment variable.
import { loadIdentity } from "../src/commands/_identity.ts";
import { formatPublicKey } from "../src/crypto/identity.ts";

export async function openIdentity(path: string, passphraseEnv: string | undefined, env: Record<string, string>): Promise<string> {
  Object.assign(process.env, env);
  const id = await loadIdentity(path, { passphraseEnv });
  return formatPublicKey(id.publicKey);
}
