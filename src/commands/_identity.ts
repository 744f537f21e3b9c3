// Identity files: the one place that reads and writes them. A file is never overwritten, appears
// whole or not at all (written to a temporary file, synced, then linked into place), is created
// with mode 0600, and a secret sealed with a passphrase is opened only with the right one.
import { randomBytes } from "node:crypto";
import { closeSync, constants, fsyncSync, linkSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { ReadStream, WriteStream } from "node:tty";
import { hexToBytes } from "@noble/hashes/utils.js";
import { formatPublicKey, identityFromSeed, parsePublicKey, type Identity, wipeIdentity } from "../crypto/identity.ts";
import { openSeed, scryptProblem, sealSeed, type SealedSeed } from "../crypto/keyfile.ts";
import { ChatError } from "../errors.ts";
import { type Check, check, CheckError, fail, type Infer, literal, number, object, string } from "../_check.ts";

const FILE_TYPE = "chat-identity";
const hex = (bytes: number) => string({ regex: new RegExp(`^[0-9a-f]{${bytes * 2}}$`), message: `expected ${bytes * 2} lowercase hex characters` });
const int = (min: number, max: number) => number({ int: true, min, max });

const sealedFields = object({
  kdf: literal("scrypt"),
  logN: int(1, 30),
  r: int(1, 64),
  p: int(1, 64),
  salt: string({ regex: /^[0-9a-f]{32,128}$/ }),
  cipher: literal("xchacha20-poly1305"),
  nonce: hex(24),
  ciphertext: hex(48),
});
const Sealed: Check<SealedSeed> = (v, path) => {
  const sealed = sealedFields(v, path);
  const problem = scryptProblem(sealed);
  return problem ? fail(path, problem) : sealed;
};
const HEADER = { type: literal(FILE_TYPE), version: literal(1), publicKey: string() };
const PlainFile = object({ ...HEADER, seed: hex(32) });
const SealedFile = object({ ...HEADER, encrypted: Sealed });
export type IdentityFile = Infer<typeof PlainFile> | Infer<typeof SealedFile>;

export interface PassphraseSource {
  /** Name of the environment variable that holds the passphrase (`--passphrase-env`). */
  passphraseEnv?: string | undefined;
}

/** The JSON form of an identity, sealed with a passphrase when one is given. */
export async function identityToFile(identity: Identity, passphrase?: string): Promise<IdentityFile> {
  const publicKey = formatPublicKey(identity.publicKey);
  if (passphrase === undefined) {
    return { type: FILE_TYPE, version: 1, publicKey, seed: Buffer.from(identity.seed).toString("hex") };
  }
  return { type: FILE_TYPE, version: 1, publicKey, encrypted: await sealSeed(identity.seed, passphrase, publicKey) };
}

/**
 * Writes an identity file with mode 0600; refuses (exit 2) if FILE exists, leaving it untouched.
 * The bytes go to a temporary file beside it, are synced, and the file is linked to FILE: link(2)
 * fails if FILE exists (rename(2) would replace it), so a crash leaves FILE whole or absent.
 */
export function writeIdentityFile(path: string, file: IdentityFile): void {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  let fd: number;
  try {
    fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  } catch (err) {
    throw ChatError.input("CANNOT_WRITE", `Cannot write "${path}": ${(err as Error).message}`);
  }
  const text = Buffer.from(JSON.stringify(file, null, 2) + "\n");
  try {
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
      text.fill(0);
    }
    linkSync(temp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") {
      throw ChatError.input("FILE_EXISTS", `Refusing to overwrite "${path}"`, "Choose another --out path; an identity file is never overwritten");
    }
    throw ChatError.input("CANNOT_WRITE", `Cannot write "${path}": ${(err as Error).message}`);
  } finally {
    unlinkSync(temp);
  }
  syncDirectory(dirname(path));
}

/** Makes the new directory entry durable (POSIX); where a directory cannot be opened, nothing to do. */
function syncDirectory(dir: string): void {
  let fd: number;
  try {
    fd = openSync(dir, constants.O_RDONLY);
  } catch {
    return;
  }
  try {
    fsyncSync(fd);
  } catch {
    // Some platforms (Windows) cannot fsync a directory.
  } finally {
    closeSync(fd);
  }
}

/** Reads the identity JSON from FILE, or from stdin when FILE is undefined or "-". */
export function readIdentityText(path: string | undefined): { text: string; source: string } {
  const source = path === undefined || path === "-" ? "stdin" : path;
  try {
    return { text: readFileSync(source === "stdin" ? 0 : source, "utf8"), source };
  } catch (err) {
    throw ChatError.input("CANNOT_READ", `Cannot read identity ${source === "stdin" ? "from stdin" : `"${source}"`}: ${(err as Error).message}`,
      "Create one with `chat keygen --out FILE`");
  }
}

/** Parses and validates an identity file's JSON (without opening a sealed secret). */
export function parseIdentityFile(text: string, source: string): IdentityFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw ChatError.input("BAD_IDENTITY", `Cannot parse identity ${source}: not JSON`, "Expected the output of `chat keygen`");
  }
  const sealed = typeof json === "object" && json !== null && "encrypted" in json;
  let file: IdentityFile;
  try {
    file = check<IdentityFile>(sealed ? SealedFile : PlainFile, json);
  } catch (err) {
    if (!(err instanceof CheckError)) throw err;
    const issue = err.issues[0];
    throw ChatError.input("BAD_IDENTITY", `Cannot parse identity ${source}: ${issue?.path.join(".") || "file"}: ${issue?.message.toLowerCase()}`,
      "Expected the output of `chat keygen`");
  }
  parsePublicKey(file.publicKey);
  return file;
}

/** Loads an identity (`--identity FILE`, else CHAT_IDENTITY), opening a sealed secret with the passphrase. */
export async function loadIdentity(path: string | undefined, opts: PassphraseSource = {}): Promise<Identity> {
  const file = path ?? process.env["CHAT_IDENTITY"];
  if (file === undefined || file === "") {
    throw ChatError.input("NO_IDENTITY", "No identity given", "Pass --identity FILE (or set CHAT_IDENTITY); create one with `chat keygen --out FILE`");
  }
  const { text, source } = readIdentityText(file);
  return openIdentityFile(parseIdentityFile(text, `"${source}"`), opts);
}

export async function openIdentityFile(file: IdentityFile, opts: PassphraseSource = {}): Promise<Identity> {
  let seed: Uint8Array;
  if ("seed" in file) {
    seed = hexToBytes(file.seed);
  } else {
    const passphrase = await readPassphrase(opts, false);
    const opened = await openSeed(file.encrypted, passphrase, file.publicKey);
    if (!opened) throw ChatError.input("BAD_PASSPHRASE", "Cannot open identity: wrong passphrase", "Check the passphrase (or the variable named by --passphrase-env)");
    seed = opened;
  }
  // identityFromSeed copies the seed: this one is wiped at once.
  const identity = identityFromSeed(seed);
  seed.fill(0);
  if (formatPublicKey(identity.publicKey) !== formatPublicKey(parsePublicKey(file.publicKey))) {
    wipeIdentity(identity);
    throw ChatError.input("BAD_IDENTITY", "Identity file is inconsistent: its seed does not give its public key");
  }
  return identity;
}

/** The passphrase: from the environment variable named by --passphrase-env, else a prompt on the terminal. */
export async function readPassphrase(opts: PassphraseSource, confirm: boolean): Promise<string> {
  if (opts.passphraseEnv !== undefined) {
    const value = process.env[opts.passphraseEnv];
    if (!value) {
      throw ChatError.input("NO_PASSPHRASE", `Environment variable "${opts.passphraseEnv}" is empty or not set`, "Export the passphrase in it, or drop --passphrase-env to be prompted");
    }
    return value;
  }
  const first = await prompt("Passphrase: ");
  if (!first) throw ChatError.input("NO_PASSPHRASE", "Empty passphrase");
  if (confirm && (await prompt("Repeat passphrase: ")) !== first) {
    throw ChatError.input("NO_PASSPHRASE", "The passphrases do not match");
  }
  return first;
}

/**
 * Reads one line from the controlling terminal (/dev/tty) without echoing it, as ssh and gpg do:
 * stdin may be a pipe that carries the messages (`echo hi | chat send …`).
 */
function prompt(question: string): Promise<string> {
  let fd: number;
  try {
    fd = openSync("/dev/tty", "r+");
  } catch {
    throw ChatError.input("NO_PASSPHRASE", "A passphrase is needed and there is no terminal to ask for it", "Put it in an environment variable and pass --passphrase-env NAME");
  }
  const input = new ReadStream(fd);
  const output = new WriteStream(fd);
  output.write(question);
  input.setRawMode(true);
  let line = "";
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => {
      input.off("data", onData);
      input.setRawMode(false);
      output.write("\n");
      input.destroy();
      output.destroy();
      if (err) reject(err); else resolve(line);
    };
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString("utf8")) {
        if (ch === "\r" || ch === "\n") return done();
        if (ch === "\u0003" || ch === "\u0004") return done(ChatError.input("CANCELLED", "Cancelled"));
        if (ch === "\u007f" || ch === "\b") line = line.slice(0, -1);
        else line += ch;
      }
    };
    input.on("data", onData);
  });
}
