// `chat id [FILE]`: the public key of an identity, the text you give your friends.
import { formatPublicKey, wipeIdentity } from "../crypto/identity.ts";
import { openIdentityFile, parseIdentityFile, readIdentityText } from "./_identity.ts";
import { print } from "./_io.ts";

export async function run(args: string[]): Promise<void> {
  const { text, source } = readIdentityText(args[0] ?? process.env["CHAT_IDENTITY"]);
  const file = parseIdentityFile(text, source === "stdin" ? "from stdin" : `"${source}"`);
  // A sealed file keeps its public key in clear (it is the AEAD's associated data), so no
  // passphrase is needed; a plain one is checked against its seed.
  let publicKey = file.publicKey;
  if ("seed" in file) {
    const identity = await openIdentityFile(file);
    publicKey = formatPublicKey(identity.publicKey);
    wipeIdentity(identity);
  }
  print({ publicKey });
}
