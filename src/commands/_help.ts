// Help text, rendered from the command table: `chat --help` lists the commands, `chat CMD --help`
// shows that command's own description, options, output, exit codes and examples.
import { COMMANDS, COMMON, type CommandSpec, type OptionSpec } from "./_spec.ts";

const pad = (rows: [string, string][]) => {
  const width = Math.max(...rows.map(([a]) => a.length));
  return rows.map(([a, b]) => `  ${a.padEnd(width)}  ${b}`).join("\n");
};

const optionName = (o: OptionSpec) =>
  `--${o.name}${o.value === undefined ? "" : o.optionalValue ? ` [${o.value}]` : ` ${o.value}`}`;

export function globalHelp(version: string): string {
  return [
    `chat ${version}: serverless, end-to-end encrypted messaging as a Unix toolkit`,
    "",
    "Usage: chat COMMAND [ARGS] [OPTIONS]",
    "",
    "Commands:",
    pad(COMMANDS.map((c) => [`${c.name} ${c.args}`.trim(), c.summary])),
    "",
    "Options:",
    pad([["--help, -h", "Show help (chat COMMAND --help for one command)"], ["--version, -v", "Print the version"]]),
    "",
    "Every command prints JSON on stdout (NDJSON for streams) and errors as one JSON line on stderr.",
    "Exit codes: 0 success, 1 failed, 2 bad input or usage, 3 no network.",
    "",
  ].join("\n");
}

export function commandHelp(c: CommandSpec): string {
  return [
    `Usage: chat ${c.name} ${c.args}${c.options.length ? " [OPTIONS]" : ""}`.replace("  ", " "),
    "",
    c.summary + (c.details ? `\n\n${c.details}` : ""),
    "",
    "Options:",
    pad([...c.options, ...COMMON].map((o) => [optionName(o), o.description])),
    "",
    "Output (stdout):",
    ...c.output.map((l) => `  ${l}`),
    "",
    "Exit codes:",
    "  0  success",
    ...c.exits.map((l) => `  ${l}`),
    "",
    "Examples:",
    ...c.examples.map((e) => `  $ ${e}`),
    "",
  ].join("\n");
}
