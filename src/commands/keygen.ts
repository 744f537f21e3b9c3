// `chat keygen`: a new identity, printed as JSON or written to a file that is never overwritten.
import { boolean, check, object, optional, textOf } from "../_check.ts";
import { formatPublicKey, generateIdentity, wipeIdentity } from "../crypto/identity.ts";
import { identityToFile, readPassphrase, writeIdentityFile } from "./_identity.ts";
import { print } from "./_io.ts";

const Options = object({
  out: optional(textOf({ min: 1 })),
  encrypt: optional(boolean),
  passphraseEnv: optional(textOf({ min: 1 })),
});

export async function run(_args: string[], raw: Record<string, unknown>): Promise<void> {
  const opts = check(Options, raw);
  const passphrase = opts.encrypt || opts.passphraseEnv !== undefined ? await readPassphrase(opts, true) : undefined;
  const identity = generateIdentity();
  try {
    const file = await identityToFile(identity, passphrase);
    if (opts.out === undefined) return print(file);
    writeIdentityFile(opts.out, file);
    print({ publicKey: formatPublicKey(identity.publicKey), file: opts.out });
  } finally {
    wipeIdentity(identity);
  }
}
