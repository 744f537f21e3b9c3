// The argv parser: exact, with nothing guessed. Values stay the strings the user typed (`--out 007`
// names the file "007"), an option a command does not take is a usage error (exit 2), and an empty
// value is refused rather than read as something else.
import { ChatError } from "../errors.ts";
import { COMMON, type CommandSpec, type OptionSpec } from "./_spec.ts";

export interface Parsed {
  args: string[];
  /** camelCase keys, as the commands' option checks expect them; flags are `true`. */
  options: Record<string, unknown>;
}

const camel = (name: string) => name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** Parses the words after the command name against the options that command takes. */
export function parseArgs(spec: CommandSpec, argv: readonly string[]): Parsed {
  const known = new Map<string, OptionSpec>([...spec.options, ...COMMON].map((o) => [o.name, o]));
  const args: string[] = [];
  const options: Record<string, unknown> = {};
  const usage = `Run \`chat ${spec.name} --help\` for its options`;
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === "--") {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (!word.startsWith("-") || word === "-") {
      args.push(word);
      continue;
    }
    if (word === "-h") {
      options["help"] = true;
      continue;
    }
    const m = /^--([a-z][a-z0-9-]*)(?:=(.*))?$/s.exec(word);
    const option = m && known.get(m[1]!);
    if (!m || !option) {
      throw ChatError.input("USAGE", `Unknown option "${word.split("=")[0]}" for chat ${spec.name}`, usage);
    }
    let value: string | true = true;
    if (option.value === undefined) {
      if (m[2] !== undefined) throw ChatError.input("USAGE", `Option --${option.name} takes no value`, usage);
    } else if (m[2] !== undefined) {
      value = m[2];
    } else if (i + 1 < argv.length && !(option.optionalValue && argv[i + 1]!.startsWith("-"))) {
      value = argv[++i]!;
    } else if (!option.optionalValue) {
      throw ChatError.input("USAGE", `Option --${option.name} needs a value (${option.value})`, usage);
    }
    if (value === "") throw ChatError.input("USAGE", `Option --${option.name} needs a non-empty value (${option.value})`, usage);
    const key = camel(option.name);
    if (option.multiple) options[key] = [...((options[key] as string[] | undefined) ?? []), value];
    else if (key in options) throw ChatError.input("USAGE", `Option --${option.name} given twice`, usage);
    else options[key] = value;
  }
  if (options["help"]) return { args, options };
  if (args.length < spec.minArgs) {
    throw ChatError.input("USAGE", `Missing ${spec.args.split(" ")[args.length] ?? "argument"} for chat ${spec.name}`, `Usage: chat ${spec.name} ${spec.args}`);
  }
  if (args.length > spec.maxArgs) {
    throw ChatError.input("USAGE", `Unexpected argument "${args[spec.maxArgs]}" for chat ${spec.name}`, `Usage: chat ${spec.name} ${spec.args}`);
  }
  return { args, options };
}
