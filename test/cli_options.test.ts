// The CLI's parsing and help: exact option values, foreign options refused, help per command,
// examples that parse as written, and shell completion generated from the same table.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { parseArgs } from "../src/commands/_args.ts";
import { COMMANDS, findCommand } from "../src/commands/_spec.ts";
import { chatCommand, errorOf, runChat, stateDir } from "./_cli.ts";

const cli = suite("cli: options, help, completion");
const dir = mkdtempSync(join(tmpdir(), "chat-opts-"));
cli.after(() => rmSync(dir, { recursive: true, force: true }));

cli("values stay the strings typed: --out 007 writes 007, a text of 007 stays 007", async () => {
  const r = await runChat(["keygen", "--out", join(dir, "007")]);
  assert.is(r.code, 0, r.stderr);
  assert.ok(existsSync(join(dir, "007")));
  assert.not.ok(existsSync(join(dir, "7")));
  const send = parseArgs(findCommand("send")!, ["alice", "007", "--timeout=0500"]);
  assert.equal(send.args, ["alice", "007"]);
  assert.is(send.options["timeout"], "0500");
});

cli("empty, missing, repeated and foreign options are usage errors (exit 2)", async () => {
  const cases: string[][] = [
    ["listen", "--identity", ""],
    ["keygen", "--port", "5"],
    ["keygen", "--out"],
    ["id", "--identity", "x.json"],
    ["lookup", "a", "b"],
    ["send"],
    ["swarm", "--nodes", "3", "--nodes", "4"],
    ["demo", "--json"],
    ["keygen", "--encrypt=yes"],
  ];
  for (const args of cases) {
    const r = await runChat(args);
    assert.is(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.is(r.stdout, "");
    assert.is(errorOf(r).code, "USAGE", args.join(" "));
  }
});

cli("chat CMD --help shows its own description, options, output, exit codes and examples", async () => {
  const k = await runChat(["keygen", "--help"]);
  assert.is(k.code, 0, k.stderr);
  assert.match(k.stdout, "Create a new identity");
  assert.match(k.stdout, "--out FILE");
  assert.not.match(k.stdout, "--port", "no option keygen does not take");
  assert.not.match(k.stdout, "--bootstrap");
  for (const c of COMMANDS) {
    const r = await runChat([c.name, "--help"]);
    assert.is(r.code, 0, `${c.name}: ${r.stderr}`);
    for (const part of [c.summary, "Options:", "Output (stdout):", "Exit codes:", "Examples:", ...c.examples]) assert.match(r.stdout, part, `${c.name}: ${part}`);
  }
  const all = await runChat(["--help"]);
  for (const c of COMMANDS) assert.match(all.stdout, c.name);
});

cli("every example in the help parses as written", () => {
  for (const c of COMMANDS) {
    for (const example of c.examples) {
      // Each `chat …` of a pipeline or list, with its quoted words unquoted.
      for (const part of example.split(/\s*(?:\||&&|<\(|>)\s*/)) {
        const words = [...part.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]!).filter((w) => w !== "&" && w !== ")");
        if (words[0] !== "chat") continue;
        const spec = findCommand(words[1]!);
        assert.ok(spec, `${example}: unknown command`);
        try {
          parseArgs(spec!, words.slice(2));
        } catch (err) {
          assert.unreachable(`${example}: ${(err as Error).message}`);
        }
      }
    }
  }
});

cli("bash completion completes commands, options and contact names", async () => {
  const add = await runChat(["contacts", "add", "carol", "yqooxx9u3aemh8mo5wcqq16yufu6jitouq1o4za751dger1igghy"]);
  assert.is(add.code, 0, add.stderr);
  const script = await runChat(["completion", "bash"]);
  assert.is(script.code, 0, script.stderr);
  const file = join(dir, "chat.bash");
  writeFileSync(file, script.stdout);
  // `chat` inside the script runs this runtime's CLI.
  const [cmd, pre] = chatCommand();
  const shim = `chat() { ${[cmd, ...pre].map((w) => `'${w}'`).join(" ")} "$@"; }`;
  const complete = (words: string[]) => {
    const body = `${shim}\nsource '${file}'\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}; _chat; echo "\${COMPREPLY[*]}"`;
    const r = spawnSync("bash", ["-c", body], { encoding: "utf8", env: { ...process.env, CHAT_STATE_DIR: stateDir } });
    assert.is(r.status, 0, r.stderr);
    return r.stdout.trim().split(" ");
  };
  assert.equal(complete(["chat", "ta"]), ["talk"]);
  assert.ok(complete(["chat", "send", ""]).includes("carol"), "contact names");
  assert.ok(complete(["chat", "send", "--w"]).includes("--wait"));
  assert.not.ok(complete(["chat", "keygen", "--"]).includes("--port"), "only the command's own options");
  assert.equal(complete(["chat", "contacts", ""]).slice(0, 3), ["add", "list", "rm"]);
});

const has = (shell: string) => spawnSync("sh", ["-c", `command -v ${shell}`]).status === 0;

cli("fish completion, run in fish where it is installed: commands, contact names, the command's options", async () => {
  if (!has("fish")) return;
  const script = join(dir, "chat.fish");
  writeFileSync(script, (await runChat(["completion", "fish"])).stdout);
  const [cmd, pre] = chatCommand();
  const shim = `function chat; ${[cmd, ...pre].map((w) => `'${w}'`).join(" ")} $argv; end`;
  const complete = (line: string) => {
    const r = spawnSync("fish", ["--no-config", "-c", `${shim}; source '${script}'; complete -C '${line}'`], { encoding: "utf8", env: { ...process.env, CHAT_STATE_DIR: stateDir } });
    assert.is(r.status, 0, r.stderr);
    return r.stdout.trim().split("\n").map((l) => l.split("\t")[0]);
  };
  assert.equal(complete("chat ta"), ["talk"]);
  assert.ok(complete("chat send ").includes("carol"), "the contact the bash test added");
  assert.not.ok(complete("chat keygen --").includes("--port"));
});

cli("zsh and fish completion scripts name every command (and parse, where the shells exist); an unknown shell is exit 2", async () => {
  for (const shell of ["zsh", "fish"]) {
    if (!has(shell)) continue;
    const file = join(dir, `completion.${shell}`);
    writeFileSync(file, (await runChat(["completion", shell])).stdout);
    const check = spawnSync(shell, shell === "zsh" ? ["-n", file] : ["--no-execute", file], { encoding: "utf8" });
    assert.is(check.status, 0, `${shell}: ${check.stderr}`);
  }
  for (const shell of ["zsh", "fish"]) {
    const r = await runChat(["completion", shell]);
    assert.is(r.code, 0, r.stderr);
    for (const c of COMMANDS) assert.match(r.stdout, c.name);
  }
  assert.match((await runChat(["completion", "zsh"])).stdout, /^#compdef chat/);
  const bad = await runChat(["completion", "tcsh"]);
  assert.is(bad.code, 2);
});

cli.run();
