// `chat contacts add NAME PUBKEY | list | rm NAME`: petnames for public keys (src/contacts.ts).
import { boolean, check, object, optional, string } from "../_check.ts";
import { Contacts, stateDirectory } from "../contacts.ts";
import { ChatError, EXIT } from "../errors.ts";
import { print } from "./_io.ts";

const Options = object({ stateDir: optional(string()), force: optional(boolean) });
const USAGE = "Usage: chat contacts add NAME PUBKEY | list | rm NAME";

export async function run(args: string[], raw: Record<string, unknown>): Promise<number> {
  const opts = check(Options, raw);
  const contacts = new Contacts(stateDirectory(opts.stateDir));
  const [verb, name, key] = args;
  const want = (n: number) => {
    if (args.length !== n) throw ChatError.input("USAGE", `chat contacts ${verb} takes ${n - 1} argument${n === 2 ? "" : "s"}`, USAGE);
  };
  switch (verb) {
    case "add": {
      want(3);
      const added = contacts.add(name!, key!, opts.force);
      print({ added: added.name, publicKey: added.publicKey });
      return EXIT.ok;
    }
    case "list":
      want(1);
      print({ contacts: contacts.list() });
      return EXIT.ok;
    case "rm": {
      want(2);
      const removed = contacts.remove(name!);
      if (!removed) throw ChatError.failed("NOT_FOUND", `No contact named "${name}"`, "`chat contacts list` shows them");
      print({ removed: removed.name, publicKey: removed.publicKey });
      return EXIT.ok;
    }
    default:
      throw ChatError.input("USAGE", `Unknown contacts verb "${verb}"`, USAGE);
  }
}
