// Every subcommand as data: its arguments, the options that apply to it, what it prints and how it
// exits. The parser (_args.ts), the help (_help.ts) and shell completion (completion.ts) all read
// this one table, so they cannot disagree. Loaders are lazy: start-up stays fast.

/** A command module: validates its input, calls the library, prints JSON; returns its exit code. */
export interface CommandModule {
  run(args: string[], opts: Record<string, unknown>): Promise<number | void>;
}

export interface OptionSpec {
  /** Long name without dashes, e.g. "state-dir". */
  name: string;
  /** Placeholder of the value ("FILE"); absent for a flag. */
  value?: string;
  /** The value may be left out (`--stats` or `--stats 30`). */
  optionalValue?: boolean;
  /** May be given more than once; the command receives an array. */
  multiple?: boolean;
  /** Completion hint: complete file names for this option's value. */
  file?: boolean;
  description: string;
}

export interface CommandSpec {
  name: string;
  /** The positional arguments as shown in usage, e.g. "PUBKEY|NAME [TEXT...]". */
  args: string;
  minArgs: number;
  /** Infinity for a variadic tail. */
  maxArgs: number;
  /** Words completion offers for the first argument. */
  verbs?: readonly string[];
  summary: string;
  /** Longer description for `chat CMD --help`. */
  details?: string;
  options: readonly OptionSpec[];
  /** What goes to stdout. */
  output: readonly string[];
  /** Exit codes beyond "0 success". */
  exits: readonly string[];
  examples: readonly string[];
}

const verbose: OptionSpec = { name: "verbose", description: "Print stack traces and debug details on stderr" };
const help: OptionSpec = { name: "help", description: "Show this help" };
/** Accepted by every command. */
export const COMMON: readonly OptionSpec[] = [verbose, help];

const bootstrap: OptionSpec = { name: "bootstrap", value: "HOSTS", description: "DHT bootstrap nodes, host:port,… (env CHAT_BOOTSTRAP; default: the public Mainline routers)" };
const port: OptionSpec = { name: "port", value: "N", description: "UDP port to bind (default: a free one)" };
const timeout: OptionSpec = { name: "timeout", value: "MS", description: "Give up after this many milliseconds" };
const stateDir: OptionSpec = {
  name: "state-dir", value: "DIR", file: true,
  description: "Where contacts live (default: env CHAT_STATE_DIR, else $XDG_STATE_HOME/chat, else ~/.local/state/chat); given here, the DHT routing table is kept there too, for a fast start",
};
const identity: OptionSpec = { name: "identity", value: "FILE", file: true, description: "Identity file (env CHAT_IDENTITY)" };
const passphraseEnv: OptionSpec = { name: "passphrase-env", value: "NAME", description: "Read the identity passphrase from this environment variable (default: prompt on the terminal)" };
const address: OptionSpec = { name: "address", value: "IP:PORT", multiple: true, description: "Address to announce (repeatable; default: the one the DHT sees, with our port)" };

const NET = [bootstrap, port, timeout, stateDir];
/** Long-running commands: they stop on a signal, not after a time. */
const relay: OptionSpec = {
  name: "relay", value: "HOST:PORT,…",
  description: "Behind NAT, register with these relays first (env CHAT_RELAYS; default: chat nodes met on the DHT)",
};
const keepalive: OptionSpec = {
  name: "keepalive", value: "SECONDS",
  description: "Behind NAT, keep sessions and relay registrations alive every SECONDS (default 25; set it below your NAT's UDP timeout)",
};
const LONG = [bootstrap, port, stateDir];
const ID = [identity, passphraseEnv];

const EXIT_USAGE = "2  bad input or usage (bad key, unknown contact, unreadable identity, unknown option)";
const EXIT_NETWORK = "3  no network: no bootstrap node answered";

export const COMMANDS: readonly CommandSpec[] = [
  {
    name: "keygen", args: "", minArgs: 0, maxArgs: 0,
    summary: "Create a new identity (an Ed25519 key pair) and print it as JSON",
    options: [
      { name: "out", value: "FILE", file: true, description: "Write the identity to FILE (mode 0600; never overwrites) and print only its public key" },
      { name: "encrypt", description: "Seal the secret with a passphrase (from --passphrase-env, else a prompt)" },
      passphraseEnv,
    ],
    output: ['the identity file\'s JSON, or with --out {"publicKey","file"}'],
    exits: [EXIT_USAGE + "; FILE exists"],
    examples: ["chat keygen --out me.json && chat id me.json", "chat keygen | chat id"],
  },
  {
    name: "id", args: "[FILE]", minArgs: 0, maxArgs: 1,
    summary: "Print the public key of an identity file (or of the identity JSON on stdin)",
    options: [],
    output: ['{"publicKey"}: the text you give your friends'],
    exits: [EXIT_USAGE],
    examples: ["chat id me.json", "chat keygen | chat id"],
  },
  {
    name: "announce", args: "", minArgs: 0, maxArgs: 0,
    summary: "Publish your encrypted, blinded contact record in the DHT (once; --every to keep it fresh)",
    options: [...NET, ...ID, address, { name: "every", value: "DURATION", description: "Republish every DURATION (e.g. 30m) until interrupted" }],
    output: ['{"type":"announced","period","stored","addresses",…}, one per publication'],
    exits: ["1  no DHT node stored the record", EXIT_USAGE, EXIT_NETWORK],
    examples: ["chat announce --identity me.json --address 203.0.113.7:6881", "chat announce --identity me.json --every 30m"],
  },
  {
    name: "lookup", args: "PUBKEY|NAME", minArgs: 1, maxArgs: 1,
    summary: "Find the addresses of a public key (or contact) through a private DHT lookup",
    options: NET,
    output: ['{"found":true,"publicKey","addresses":[…],"announcedAt",…} or {"found":false,…}'],
    exits: ["1  no valid record found", EXIT_USAGE, EXIT_NETWORK],
    examples: ["chat lookup yqooxx9u3aemh8mo5wcqq16yufu6jitouq1o4za751dger1igghy", "chat lookup alice"],
  },
  {
    name: "send", args: "PUBKEY|NAME [TEXT...]", minArgs: 1, maxArgs: Infinity,
    summary: "Look up, handshake and deliver; with no TEXT each stdin line is a message, sent as it arrives",
    details: "With --wait the session stays open that many seconds after the last message, and replies that arrive on it are printed.",
    options: [
      bootstrap, port, { ...timeout, description: "Give up on a message after MS milliseconds, its lookup included" }, stateDir, ...ID,
      { name: "json", description: "Each stdin line is {\"text\": …}" },
      { name: "address", value: "IP:PORT", description: "Skip the lookup and send to this address" },
      { name: "wait", value: "SECONDS", description: "Keep the session open SECONDS after the last message and print the replies" },
    ],
    output: [
      '{"type":"delivered","id","to","name"?,"rttMs","path":"direct"|"relayed"} per message acknowledged',
      '{"type":"failed","id","to","reason","message","ms"} per message not delivered',
      '{"type":"message","from","name"?,"id","text","sentAt","receivedAt"} per reply (with --wait)',
    ],
    exits: ["1  a message was not delivered, or the peer was not found", EXIT_USAGE + "; a malformed --json line", EXIT_NETWORK],
    examples: [
      "echo hi | chat send alice --identity me.json",
      "chat send alice 'are you there?' --identity me.json --wait 10",
      "tail -f build.log | chat send alice --identity me.json",
    ],
  },
  {
    name: "listen", args: "", minArgs: 0, maxArgs: 0,
    summary: "Announce yourself and print incoming messages as NDJSON",
    options: [...LONG, ...ID, address, relay, keepalive, { name: "count", value: "N", description: "Exit after N messages" }],
    output: [
      '{"type":"listening","publicKey","address"}, then {"type":"announced",…,"relays"} per publication',
      '{"type":"nat","behindNat","publicAddress"}; behind NAT {"type":"relay","address","state":"registered"|"lost"}',
      '{"type":"message","from","name"?,"id","text","sentAt","receivedAt","address","path":"direct"|"relayed"} per message',
      '{"type":"warning","code":"IDENTITY_IN_USE","addresses"} when another process announces this identity',
      '{"type":"closed","reason"} at the end',
    ],
    exits: [EXIT_USAGE, EXIT_NETWORK],
    examples: ["chat listen --identity me.json | jq -r 'select(.type == \"message\") | .text'"],
  },
  {
    name: "talk", args: "NAME|PUBKEY", minArgs: 1, maxArgs: 1,
    summary: "A conversation with one person in the terminal: listens and sends on one socket",
    details: "On a terminal: type a line and press Enter to send it; ✓ marks a delivered message, ✗ one that failed; Ctrl-C or Ctrl-D leaves. When stdin or stdout is not a terminal it speaks NDJSON both ways: stdin lines are {\"text\": …} (or plain text), stdout lines are events.",
    options: [...LONG, ...ID, address],
    output: [
      "a terminal view, or NDJSON events:",
      '{"type":"listening",…}, {"type":"announced",…}, {"type":"found"|"not-found","to","name"?}',
      '{"type":"message","from","name"?,"id","text",…}, {"type":"delivered","id","to","rttMs"}, {"type":"failed",…}',
      '{"type":"warning",…}, {"type":"closed","reason"}',
    ],
    exits: [EXIT_USAGE, EXIT_NETWORK],
    examples: ["chat contacts add alice yqooxx9u3aemh8mo5wcqq16yufu6jitouq1o4za751dger1igghy && chat talk alice --identity me.json"],
  },
  {
    name: "contacts", args: "add NAME PUBKEY | list | rm NAME", minArgs: 1, maxArgs: 3, verbs: ["add", "list", "rm"],
    summary: "Petnames for public keys, kept in the state directory; every PUBKEY argument also takes a name",
    options: [stateDir, { name: "force", description: "add: replace the key of an existing name" }],
    output: ['add: {"added","publicKey"}; list: {"contacts":[{"name","publicKey","addedAt"}]}; rm: {"removed","publicKey"}'],
    exits: ["1  rm: no such contact", EXIT_USAGE + "; add: the name exists with another key (use --force)"],
    examples: ["chat contacts add alice yqooxx9u3aemh8mo5wcqq16yufu6jitouq1o4za751dger1igghy", "chat contacts list | jq -r '.contacts[].name'", "chat contacts rm alice"],
  },
  {
    name: "demo", args: "", minArgs: 0, maxArgs: 0,
    summary: "The whole stack on an embedded local swarm: two identities, listen, lookup, send, reply",
    options: [{ name: "nodes", value: "N", description: "DHT nodes in the embedded swarm (default 50)" }],
    output: ['one {"step",…,"ms"} line per step: swarm, identities, announced, lookup, message ×3, reply'],
    exits: ["1  a step failed", EXIT_USAGE],
    examples: ["chat demo", "chat demo --nodes 200"],
  },
  {
    name: "node", args: "", minArgs: 0, maxArgs: 0,
    summary: "Run one plain DHT node (a bootstrap for a private network); NDJSON events",
    options: [bootstrap, port, stateDir, { name: "stats", value: "SECONDS", optionalValue: true, description: "Print a stats line every SECONDS (default 10)" }],
    output: ['{"type":"listening"}, {"type":"bootstrap","ok"}, {"type":"stats",…} (with --stats), {"type":"closed"}'],
    exits: [EXIT_USAGE],
    examples: ["chat node --port 6881 --stats"],
  },
  {
    name: "swarm", args: "", minArgs: 0, maxArgs: 0,
    summary: "Run N DHT nodes on 127.0.0.1 in one process: a private network; prints its bootstrap list",
    options: [{ name: "nodes", value: "N", description: "How many nodes (default 20)" }, { name: "port", value: "BASE", description: "First port (default: free ones)" }],
    output: ['{"type":"swarm","nodes","bootstrap":["127.0.0.1:…",…]} once ready; runs until SIGINT/SIGTERM'],
    exits: [EXIT_USAGE + "; the ports are taken"],
    examples: ["chat swarm --nodes 50 --port 7000 &"],
  },
  {
    name: "dht", args: "VERB [ARG]", minArgs: 1, maxArgs: 2, verbs: ["ping", "find-node", "get", "put"],
    summary: "The DHT layer for scripts: ping HOST:PORT | find-node [TARGET] | get TARGET|PUBKEY|NAME | put VALUE",
    options: [
      ...NET, ...ID,
      { name: "salt", value: "TEXT", description: "BEP 44 salt (get / put of a mutable item)" },
      { name: "seq", value: "N", description: "put: sequence number (default: unix seconds)" },
      { name: "cas", value: "N", description: "put: only replace the item whose seq is N" },
      { name: "immutable", description: "put: store an immutable item (no identity needed)" },
    ],
    output: ["one JSON object: the item or nodes, the nodes that answered, and query counts"],
    exits: ["1  nothing found, or nothing stored", EXIT_USAGE, EXIT_NETWORK],
    examples: ["chat dht put hello --identity me.json --salt greeting", "chat dht get alice --salt greeting"],
  },
  {
    name: "completion", args: "bash|zsh|fish", minArgs: 1, maxArgs: 1, verbs: ["bash", "zsh", "fish"],
    summary: "Print a shell completion script",
    details: "bash: add `source <(chat completion bash)` to ~/.bashrc. zsh: `chat completion zsh > \"${fpath[1]}/_chat\"`. fish: `chat completion fish > ~/.config/fish/completions/chat.fish`.",
    options: [],
    output: ["the script, for the shell named"],
    exits: [EXIT_USAGE],
    examples: ["source <(chat completion bash)", "chat completion fish > ~/.config/fish/completions/chat.fish"],
  },
];

export function findCommand(name: string): CommandSpec | undefined {
  return COMMANDS.find((c) => c.name === name);
}
