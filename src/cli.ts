// The CLI: finds the command, parses its options (_args.ts), lazily loads and runs it, and turns
// errors into one JSON line on stderr and an exit code (DESIGN.md, "The CLI contract").
import { ChatError, EXIT } from "./errors.ts";
import { parseArgs } from "./commands/_args.ts";
import { commandHelp, globalHelp } from "./commands/_help.ts";
import { type CommandModule, findCommand } from "./commands/_spec.ts";

export const VERSION = "0.1.0";

/** Each command's module, loaded only when it runs: start-up stays fast (vite's CLI does the same). */
const LOADERS: Record<string, () => Promise<CommandModule>> = {
  keygen: () => import("./commands/keygen.ts"),
  id: () => import("./commands/id.ts"),
  announce: () => import("./commands/announce.ts"),
  lookup: () => import("./commands/lookup.ts"),
  send: () => import("./commands/send.ts"),
  listen: () => import("./commands/listen.ts"),
  talk: () => import("./commands/talk.ts"),
  contacts: () => import("./commands/contacts.ts"),
  demo: () => import("./commands/demo.ts"),
  node: () => import("./commands/node.ts"),
  swarm: () => import("./commands/swarm.ts"),
  dht: () => import("./commands/dht.ts"),
  completion: () => import("./commands/completion.ts"),
};

export async function main(argv: string[]): Promise<number> {
  const verbose = argv.includes("--verbose");
  try {
    const [name, ...rest] = argv;
    if (name === undefined) throw ChatError.input("USAGE", "No command given", "Run `chat --help` to list the commands");
    if (name === "--help" || name === "-h" || name === "help") {
      const topic = name === "help" && rest[0] !== undefined ? findCommand(rest[0]) : undefined;
      process.stdout.write(topic ? commandHelp(topic) : globalHelp(VERSION));
      return EXIT.ok;
    }
    if (name === "--version" || name === "-v") {
      process.stdout.write(`chat/${VERSION}\n`);
      return EXIT.ok;
    }
    const spec = findCommand(name);
    if (!spec) {
      throw ChatError.input("UNKNOWN_COMMAND", `Unknown command "${name}"`, "Run `chat --help` to list the commands");
    }
    const { args, options } = parseArgs(spec, rest);
    if (options["help"]) {
      process.stdout.write(commandHelp(spec));
      return EXIT.ok;
    }
    const load = LOADERS[spec.name];
    if (!load) throw new ChatError("INTERNAL", `No module for command "${spec.name}"`, { exitCode: EXIT.failed });
    return (await (await load()).run(args, options)) ?? EXIT.ok;
  } catch (err) {
    return report(err, verbose);
  }
}

/** Errors: one JSON line on stderr plus a human hint; a stack trace only with --verbose. */
function report(err: unknown, verbose: boolean): number {
  const e = err instanceof ChatError
    ? err
    : (err as Error)?.name === "CheckError"
    ? ChatError.input("BAD_OPTION", optionMessage(err), "Run `chat <command> --help` for the options")
    : new ChatError("INTERNAL", (err as Error)?.message ?? String(err), { exitCode: EXIT.failed });
  process.stderr.write(JSON.stringify({ error: { code: e.code, message: e.message } }) + "\n");
  if (e.hint) process.stderr.write(`hint: ${e.hint}\n`);
  if (verbose && err instanceof Error && err.stack) process.stderr.write(err.stack + "\n");
  return e.exitCode;
}

/** A failed option check (_check.ts) as the option the user typed. */
function optionMessage(err: unknown): string {
  const issue = (err as { issues?: { path: PropertyKey[]; message: string }[] }).issues?.[0];
  const name = issue?.path.map(String).join(".").replace(/[A-Z]/g, (c) => "-" + c.toLowerCase());
  return issue ? `Invalid option${name ? ` --${name}` : ""}: ${issue.message}` : "Invalid input";
}
