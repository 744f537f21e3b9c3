// The CLI: cac wiring, lazy command loading, exit codes and error printing (DESIGN.md, "The CLI contract").
import { cac } from "cac";
import { ChatError, EXIT } from "./errors.ts";

/** A command module: validates its input, calls the library, prints JSON; returns its exit code. */
export interface CommandModule {
  run(args: string[], opts: Record<string, unknown>): Promise<number | void>;
}
type Load = () => Promise<CommandModule>;

const VERSION = "0.1.0";

export async function main(argv: string[]): Promise<number> {
  const cli = cac("chat");
  let exitCode: number = EXIT.ok;
  const action = (load: Load) => async (...a: unknown[]) => {
    const opts = a.pop() as Record<string, unknown>;
    const args = a.flat().filter((x) => x !== undefined).map(String);
    exitCode = (await (await load()).run(args, opts)) ?? EXIT.ok;
  };

  cli
    .option("--bootstrap <hosts>", "DHT bootstrap nodes, host:port,… (env CHAT_BOOTSTRAP; default: the public Mainline routers)")
    .option("--identity <file>", "Identity file (env CHAT_IDENTITY)")
    .option("--passphrase-env <name>", "Read the identity passphrase from this environment variable")
    .option("--port <n>", "UDP port to bind (default: random)")
    .option("--timeout <ms>", "Give up after this many milliseconds")
    .option("--state-dir <dir>", "Keep the DHT routing table here, so the next start is fast")
    .option("--verbose", "Print stack traces and debug details on stderr");

  cli
    .command("keygen", "Create a new identity (an Ed25519 key pair) and print it as JSON")
    .option("--out <file>", "Write the identity to FILE (mode 0600; never overwrites) and print only its public key")
    .option("--encrypt", "Encrypt the secret with a passphrase (from --passphrase-env, else a prompt)")
    .example("chat keygen --out me.json && chat id me.json")
    .action(action(() => import("./commands/keygen.ts")));

  cli
    .command("id [file]", "Print the public key of an identity file (or of the identity JSON on stdin)")
    .example("chat keygen | chat id")
    .action(action(() => import("./commands/id.ts")));

  cli
    .command("announce", "Publish your encrypted, blinded contact record in the DHT (once; --every to keep it fresh)")
    .option("--address <ip:port>", "Address to announce (repeatable; default: the one the DHT sees, with our port)")
    .option("--every <duration>", "Republish every DURATION (e.g. 30m) until interrupted")
    .example("chat announce --identity me.json --address 203.0.113.7:6881")
    .action(action(() => import("./commands/announce.ts")));

  cli
    .command("lookup <pubkey>", "Find the addresses of a public key through a private DHT lookup (exit 1 if not found)")
    .example("chat lookup yqooxx9u3aemh8mo5wcqq16yufu6jitouq1o4za751dger1igghy")
    .action(action(() => import("./commands/lookup.ts")));

  cli
    .command("send <pubkey> [...text]", "Look up, handshake and deliver; with no TEXT each stdin line is a message")
    .option("--json", "Each stdin line is {\"text\": …}")
    .option("--address <ip:port>", "Skip the lookup and send to this address")
    .example("echo hi | chat send <pubkey> --identity me.json")
    .action(action(() => import("./commands/send.ts")));

  cli
    .command("listen", "Announce yourself and print incoming messages as NDJSON")
    .option("--count <n>", "Exit after N messages")
    .option("--address <ip:port>", "Address to announce (repeatable; default: the one the DHT sees)")
    .option("--relay <hosts>", "Relays to register with behind NAT, host:port,… (env CHAT_RELAYS; default: chat nodes of the DHT)")
    .example("chat listen --identity me.json | jq .text")
    .action(action(() => import("./commands/listen.ts")));

  cli
    .command("demo", "The whole stack on an embedded local swarm: two identities, listen, lookup, send, reply")
    .option("--nodes <n>", "DHT nodes in the embedded swarm", { default: 50 })
    .action(action(() => import("./commands/demo.ts")));

  cli
    .command("node", "Run one plain DHT node (a bootstrap for a private network); NDJSON events")
    .option("--stats [seconds]", "Print a stats line every SECONDS (default 10)")
    .example("chat node --port 6881 --stats")
    .action(action(() => import("./commands/node.ts")));

  cli
    .command("swarm", "Run N DHT nodes on 127.0.0.1 in one process: a private network; prints its bootstrap list")
    .option("--nodes <n>", "How many nodes", { default: 20 })
    .example("chat swarm --nodes 50 --port 7000 &")
    .action(action(() => import("./commands/swarm.ts")));

  cli
    .command("dht <verb> [arg]", "The DHT layer for scripts: ping HOST:PORT | find-node [TARGET] | get TARGET|PUBKEY | put VALUE")
    .option("--salt <text>", "BEP 44 salt (get / put of a mutable item)")
    .option("--seq <n>", "put: sequence number (default: unix seconds)")
    .option("--cas <n>", "put: only replace the item whose seq is N")
    .option("--immutable", "put: store an immutable item (no identity needed)")
    .example("chat dht put 'hello' --identity me.json --salt greeting")
    .example("chat dht get <pubkey> --salt greeting")
    .action(action(() => import("./commands/dht.ts")));

  cli.help();
  cli.version(VERSION);

  try {
    cli.parse(["node", "chat", ...argv], { run: false });
    if (!cli.matchedCommand) {
      if (cli.options["help"] || cli.options["version"]) return EXIT.ok;
      const name = cli.args[0];
      throw ChatError.input(
        "UNKNOWN_COMMAND",
        name ? `Unknown command "${name}"` : "No command given",
        "Run `chat --help` to list the commands",
      );
    }
    await cli.runMatchedCommand();
    return exitCode;
  } catch (err) {
    return report(err, Boolean(cli.options["verbose"]));
  }
}

/** Errors: one JSON line on stderr plus a human hint; a stack trace only with --verbose. */
function report(err: unknown, verbose: boolean): number {
  const e = err instanceof ChatError
    ? err
    : (err as Error)?.name === "ZodError"
    ? ChatError.input("BAD_OPTION", zodMessage(err), "Run `chat <command> --help` for the options")
    : (err as Error)?.name === "CACError"
    ? ChatError.input("USAGE", (err as Error).message, "Run `chat --help` or `chat <command> --help`")
    : new ChatError("INTERNAL", (err as Error)?.message ?? String(err), { exitCode: EXIT.failed });
  process.stderr.write(JSON.stringify({ error: { code: e.code, message: e.message } }) + "\n");
  if (e.hint) process.stderr.write(`hint: ${e.hint}\n`);
  if (verbose && err instanceof Error && err.stack) process.stderr.write(err.stack + "\n");
  return e.exitCode;
}

function zodMessage(err: unknown): string {
  const issue = (err as { issues?: { path: PropertyKey[]; message: string }[] }).issues?.[0];
  const name = issue?.path.map(String).join(".").replace(/[A-Z]/g, (c) => "-" + c.toLowerCase());
  return issue ? `Invalid option${name ? ` --${name}` : ""}: ${issue.message}` : "Invalid input";
}
