// The npm package as a user gets it: `npm pack`, then `npm install ./mainline-chat-x.y.z.tgz` in an
// empty directory (dependencies from the registry or npm's cache), then `chat demo` and an import
// of the library from there, on this runtime.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { isDeno } from "./_cli.ts";

const pkg = suite("package: pack, install in an empty directory, run");
const dir = mkdtempSync(join(tmpdir(), "chat-pack-"));
const app = join(dir, "app");
const { name, version } = JSON.parse(readFileSync("package.json", "utf8")) as { name: string; version: string };
const DENO = resolve("node_modules/.bin/deno");

const run = (cmd: string, args: string[], cwd: string, timeoutMs: number) => {
  // Bounded: a hung npm or chat is killed (neither leaves long-lived children behind).
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", timeout: timeoutMs, killSignal: "SIGKILL", env: { ...process.env, NO_COLOR: "1" } });
  assert.is(r.status, 0, `${cmd} ${args.join(" ")}: ${r.error?.message ?? ""}\n${r.stderr}`);
  return r.stdout;
};

pkg.after(() => rmSync(dir, { recursive: true, force: true }));

pkg("npm pack ships only what is needed", () => {
  // --ignore-scripts: `prepare` would rebuild dist/ under the suite that runs from it; npm test built it.
  const out = run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", dir], ".", 120_000);
  const files = (JSON.parse(out) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
  for (const needed of ["bin/chat.mjs", "dist/mod.js", "dist/mod.d.ts", "dist/src/main.js", "package.json", "README.md"]) {
    assert.ok(files.includes(needed), needed);
  }
  const extra = files.filter((f) => /^(dist\/)?(test|scripts|examples)\/|^src\/|\.ts$/.test(f) && !f.endsWith(".d.ts"));
  assert.equal(extra, [], "no tests, scripts or sources");
});

pkg("installed from its tarball in an empty directory: chat demo runs, the library imports", () => {
  mkdirSync(app);
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "empty-app", private: true, type: "module" }));
  run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", join(dir, `${name}-${version}.tgz`)], app, 180_000);
  const demo = isDeno
    ? run(DENO, ["run", "-A", `node_modules/${name}/bin/chat.mjs`, "demo", "--nodes", "20"], app, 60_000)
    : run(join(app, "node_modules/.bin/chat"), ["demo", "--nodes", "20"], app, 60_000);
  const steps = demo.trim().split("\n").map((l) => JSON.parse(l).step);
  assert.equal(steps, ["swarm", "identities", "announced", "lookup", "message", "message", "message", "reply"]);
  const code = `import { generateIdentity, formatPublicKey, Peer } from "${name}";
const id = generateIdentity();
const peer = await Peer.open({ identity: id, bootstrap: false });
console.log(JSON.stringify({ key: formatPublicKey(id.publicKey), same: peer.publicKey === formatPublicKey(id.publicKey) }));
peer.close();`;
  writeFileSync(join(app, "use.mjs"), code);
  const out = isDeno ? run(DENO, ["run", "-A", "use.mjs"], app, 60_000) : run("node", ["use.mjs"], app, 60_000);
  const used = JSON.parse(out);
  assert.match(used.key, /^[ybndrfg8ejkmcpqxot1uwisza345h769]{52}$/);
  assert.is(used.same, true);
});

pkg.run();
