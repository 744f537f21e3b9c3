// Contacts: petnames for public keys ("alice" instead of 52 characters), kept in one JSON file in
// the state directory. (Not to be confused with contact.ts, the DHT contact records.)
// Every change is read-modify-write under a lock file, and the new file is written aside, synced
// and renamed over the old one: a crash leaves the old file or the new one, never half of one,
// and two processes adding at once both keep their contact.
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync, constants } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { array, check, type Infer, literal, number, object, string } from "./_check.ts";
import { formatPublicKey, parsePublicKey } from "./crypto/identity.ts";
import { ChatError } from "./errors.ts";

const FILE = "contacts.json";
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$/;
/** How long a writer waits for the lock, and when a lock is old enough to belong to a crashed process. */
const LOCK_WAIT_MS = 5_000;
const LOCK_STALE_MS = 30_000;

const CONTACT = { name: string({ regex: NAME }), publicKey: string(), addedAt: number({ int: true }) };
export type Contact = Infer<typeof CONTACT>;
const ContactsFile = object({ type: literal("chat-contacts"), version: literal(1), contacts: array(object(CONTACT), { max: 100_000 }) });

/** The state directory: `--state-dir`, else CHAT_STATE_DIR, else $XDG_STATE_HOME/chat, else ~/.local/state/chat. */
export function stateDirectory(option?: string): string {
  const env = process.env;
  if (option) return option;
  if (env["CHAT_STATE_DIR"]) return env["CHAT_STATE_DIR"];
  if (env["XDG_STATE_HOME"]) return join(env["XDG_STATE_HOME"], "chat");
  return join(homedir(), ".local", "state", "chat");
}

export function isContactName(text: string): boolean {
  return NAME.test(text);
}

export class Contacts {
  readonly path: string;
  #cache: { mtimeMs: number; contacts: Contact[] } | undefined;

  constructor(stateDir: string) {
    this.path = join(stateDir, FILE);
  }

  /** Every contact, in the order added (re-read when the file changed). */
  list(): Contact[] {
    let mtimeMs: number;
    try {
      mtimeMs = statSync(this.path).mtimeMs;
    } catch {
      return [];
    }
    if (this.#cache?.mtimeMs !== mtimeMs) this.#cache = { mtimeMs, contacts: this.#read() };
    return this.#cache.contacts;
  }

  get(name: string): Contact | undefined {
    return this.list().find((c) => c.name === name);
  }

  /**
   * The first name given to this key, for labelling messages. A label is optional: an unreadable
   * contacts file gives none here (`chat contacts list` reports it) rather than stopping a listener.
   */
  nameOf(publicKey: Uint8Array | string): string | undefined {
    const key = typeof publicKey === "string" ? publicKey : formatPublicKey(publicKey);
    try {
      return this.list().find((c) => c.publicKey === key)?.name;
    } catch {
      return undefined;
    }
  }

  /** Adds NAME → PUBKEY; the same pair again is a no-op, another key for the name needs `replace`. */
  add(name: string, publicKey: string, replace = false): Contact {
    if (!NAME.test(name)) {
      throw ChatError.input("BAD_NAME", `Cannot use contact name "${name}": expected 1 to 32 letters, digits, ".", "_" or "-", starting with a letter or digit`);
    }
    const key = formatPublicKey(parsePublicKey(publicKey));
    return this.#update((contacts) => {
      const old = contacts.find((c) => c.name === name);
      if (old?.publicKey === key) return [contacts, old];
      if (old && !replace) {
        throw ChatError.input("CONTACT_EXISTS", `Contact "${name}" already has another key (${old.publicKey})`, "Pass --force to replace it, or choose another name");
      }
      const added = { name, publicKey: key, addedAt: Date.now() };
      return [[...contacts.filter((c) => c.name !== name), added], added];
    });
  }

  /** Removes NAME; undefined when there was no such contact. */
  remove(name: string): Contact | undefined {
    return this.#update((contacts) => {
      const old = contacts.find((c) => c.name === name);
      return [old ? contacts.filter((c) => c !== old) : contacts, old];
    });
  }

  /** A public key, or the key of a contact name; a bad key that is no contact name either is the key's error. */
  resolve(text: string): Uint8Array {
    try {
      return parsePublicKey(text);
    } catch (err) {
      if (!NAME.test(text)) throw err;
      const contact = this.get(text);
      if (!contact) {
        throw ChatError.input("UNKNOWN_CONTACT", `No contact named "${text}" (and it is not a public key)`,
          `Add it with \`chat contacts add ${text} PUBKEY\` (contacts file: ${this.path})`);
      }
      return parsePublicKey(contact.publicKey);
    }
  }

  #read(): Contact[] {
    let text: string;
    try {
      text = readFileSync(this.path, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw ChatError.input("CANNOT_READ", `Cannot read contacts "${this.path}": ${(err as Error).message}`);
    }
    try {
      return check(ContactsFile, JSON.parse(text)).contacts;
    } catch {
      throw ChatError.input("BAD_CONTACTS", `Cannot parse contacts "${this.path}"`, "Fix or move the file; chat never overwrites a file it cannot read");
    }
  }

  #update<T>(change: (contacts: Contact[]) => [Contact[], T]): T {
    mkdirSync(join(this.path, ".."), { recursive: true, mode: 0o700 });
    const unlock = this.#lock();
    try {
      const before = this.#read();
      const [after, result] = change(before);
      if (after !== before) this.#write(after);
      this.#cache = undefined;
      return result;
    } finally {
      unlock();
    }
  }

  #write(contacts: Contact[]): void {
    const tmp = `${this.path}.${process.pid}.tmp`;
    const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, 0o600);
    try {
      writeSync(fd, JSON.stringify({ type: "chat-contacts", version: 1, contacts }, null, 2) + "\n");
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.path);
  }

  /** An exclusive lock file; a lock older than LOCK_STALE_MS is a crashed writer's and is taken over. */
  #lock(): () => void {
    const lock = `${this.path}.lock`;
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (;;) {
      try {
        closeSync(openSync(lock, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600));
        return () => rmSync(lock, { force: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") {
          throw ChatError.input("CANNOT_WRITE", `Cannot write contacts in "${join(this.path, "..")}": ${(err as Error).message}`);
        }
      }
      try {
        if (Date.now() - statSync(lock).mtimeMs > LOCK_STALE_MS) rmSync(lock, { force: true });
      } catch {
        // The holder just released it: try again at once.
      }
      if (Date.now() > deadline) {
        throw ChatError.failed("CONTACTS_LOCKED", `Contacts "${this.path}" stayed locked for ${LOCK_WAIT_MS / 1000} s`, `Remove "${lock}" if no chat process is running`);
      }
      sleep(10 + Math.random() * 20);
    }
  }
}

/** A short synchronous pause between lock attempts (contacts changes are one-shot CLI work). */
function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
