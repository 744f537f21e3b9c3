// `chat completion bash|zsh|fish`: a completion script generated from the command table, so it
// offers exactly the commands, verbs and options the parser accepts; contact names complete
// wherever a PUBKEY|NAME is taken (from `chat contacts list`).
import { ChatError } from "../errors.ts";
import { COMMANDS, COMMON, type CommandSpec } from "./_spec.ts";

const takesName = (c: CommandSpec) => /NAME|PUBKEY/.test(c.args.split(" ")[0] ?? "") && c.name !== "contacts";
const flags = (c: CommandSpec) => [...c.options, ...COMMON].map((o) => `--${o.name}`).join(" ");
const fileOptions = [...new Set(COMMANDS.flatMap((c) => c.options.filter((o) => o.file).map((o) => `--${o.name}`)))];
// `chat contacts list` prints one JSON line; split it into names without needing jq.
const NAMES_CMD = `chat contacts list 2>/dev/null | grep -o '"name":"[^"]*"' | cut -d'"' -f4`;

function bash(): string {
  const cases = COMMANDS.map((c) => {
    const words = [...(c.verbs ?? []), flags(c)].join(" ");
    const names = takesName(c) ? ` $(${NAMES_CMD})` : "";
    return `    ${c.name}) words="${words}"${names ? `; [[ $COMP_CWORD -eq 2 ]] && words="$words${names}"` : ""} ;;`;
  }).join("\n");
  return `# bash completion for chat: source <(chat completion bash)
_chat() {
  local cur prev words
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  if [[ $COMP_CWORD -eq 1 ]]; then
    COMPREPLY=($(compgen -W "${COMMANDS.map((c) => c.name).join(" ")} --help --version" -- "$cur"))
    return
  fi
  case "$prev" in
    ${fileOptions.join("|")}) COMPREPLY=($(compgen -f -- "$cur")); return ;;
  esac
  case "\${COMP_WORDS[1]}" in
${cases}
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o default -F _chat chat
`;
}

function zsh(): string {
  const subs = COMMANDS.map((c) => `    '${c.name}:${c.summary.replace(/'/g, "'\\''").replace(/:/g, "\\:")}'`).join("\n");
  const cases = COMMANDS.map((c) => {
    const opts = [...c.options, ...COMMON].map((o) => {
      const desc = o.description.replace(/'/g, "'\\''").replace(/[[\]:]/g, " ");
      // In an _arguments spec ":" separates fields: "IP:PORT" cannot be a message as it is.
      return `'--${o.name}[${desc}]${o.value ? `:${o.value.replace(/:/g, "-")}:${o.file ? "_files" : " "}` : ""}'`;
    }).join(" ");
    const first = c.verbs ? `'1:${c.name}:(${c.verbs.join(" ")})'` : takesName(c) ? `'1:contact:_chat_contacts'` : "";
    return `    ${c.name}) _arguments ${opts} ${first} '*:: :_files' ;;`;
  }).join("\n");
  return `#compdef chat
# zsh completion for chat: chat completion zsh > "\${fpath[1]}/_chat"
_chat_contacts() {
  local -a names
  names=(\${(f)"$(${NAMES_CMD})"})
  _describe 'contact' names
}
_chat() {
  local -a commands
  commands=(
${subs}
  )
  if (( CURRENT == 2 )); then
    _describe 'command' commands
    return
  fi
  words=("\${words[@]:1}")
  (( CURRENT-- ))
  case "\${words[1]}" in
${cases}
  esac
}
# Autoloaded from fpath, this file is the body of _chat: complete now. Sourced, register it.
if [[ "\${funcstack[1]}" == _chat ]]; then _chat "$@"; else compdef _chat chat; fi
`;
}

function fish(): string {
  const lines = [
    "# fish completion for chat: chat completion fish > ~/.config/fish/completions/chat.fish",
    "function __chat_contacts",
    `    ${NAMES_CMD}`,
    "end",
    "complete -c chat -f",
  ];
  for (const c of COMMANDS) {
    lines.push(`complete -c chat -n __fish_use_subcommand -a ${c.name} -d ${quote(c.summary)}`);
    const when = `__fish_seen_subcommand_from ${c.name}`;
    if (c.verbs) lines.push(`complete -c chat -n '${when}' -a ${quote(c.verbs.join(" "))}`);
    if (takesName(c)) lines.push(`complete -c chat -n '${when}' -a '(__chat_contacts)' -d contact`);
    for (const o of [...c.options, ...COMMON]) {
      lines.push(`complete -c chat -n '${when}' -l ${o.name}${o.value ? (o.file ? " -r -F" : " -r") : ""} -d ${quote(o.description)}`);
    }
  }
  return lines.join("\n") + "\n";
}

const quote = (s: string) => `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;

export async function run(args: string[]): Promise<void> {
  const shells: Record<string, () => string> = { bash, zsh, fish };
  const make = shells[args[0]!];
  if (!make) throw ChatError.input("USAGE", `Cannot complete for shell "${args[0]}": expected bash, zsh or fish`, "Usage: chat completion bash|zsh|fish");
  process.stdout.write(make());
}
