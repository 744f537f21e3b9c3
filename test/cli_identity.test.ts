import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { openSeed, scryptProblem, sealSeed, SCRYPT_DEFAULT } from "../src/crypto/keyfile.ts";
import { errorOf, runChat } from "./_cli.ts";

const cli = suite("cli: keygen and id");
const dir = mkdtempSync(join(tmpdir(), "chat-cli-"));
cli.after(() => rmSync(dir, { recursive: true, force: true }));
const Z32 = /^[ybndrfg8ejkmcpqxot1uwisza345h769]{52}$/;

cli("keygen | id prints a 52-character z-base-32 key", async () => {
  const gen = await runChat(["keygen"]);
  assert.is(gen.code, 0, gen.stderr);
  const file = JSON.parse(gen.stdout);
  assert.is(file.type, "chat-identity");
  assert.match(file.seed, /^[0-9a-f]{64}$/);
  const id = await runChat(["id"], { stdin: gen.stdout });
  assert.is(id.code, 0, id.stderr);
  assert.equal(JSON.parse(id.stdout), { publicKey: file.publicKey });
  assert.match(file.publicKey, Z32);
});

cli("keygen --out writes mode 0600 and never overwrites", async () => {
  const path = join(dir, "me.json");
  const first = await runChat(["keygen", "--out", path]);
  assert.is(first.code, 0, first.stderr);
  assert.is(statSync(path).mode & 0o777, 0o600);
  const before = readFileSync(path, "utf8");
  const again = await runChat(["keygen", "--out", path]);
  assert.is(again.code, 2);
  assert.is(errorOf(again).code, "FILE_EXISTS");
  assert.match(again.stderr, /hint:/);
  assert.is(readFileSync(path, "utf8"), before, "the existing identity is untouched");
  const id = await runChat(["id", path]);
  assert.is(JSON.parse(id.stdout).publicKey, JSON.parse(first.stdout).publicKey);
});

cli("keygen --out leaves no temporary file behind, written or refused", async () => {
  const sub = mkdtempSync(join(dir, "atomic-"));
  const path = join(sub, "id.json");
  assert.is((await runChat(["keygen", "--out", path])).code, 0);
  assert.is((await runChat(["keygen", "--out", path])).code, 2);
  assert.equal(readdirSync(sub), ["id.json"]);
  assert.is((await runChat(["keygen", "--out", join(sub, "no-such-dir", "id.json")])).code, 2);
  assert.equal(readdirSync(sub), ["id.json"]);
});

cli("scrypt parameters: what @noble/hashes cannot open, or too weak, is refused with exit 2, never a crash", async () => {
  const seed = new Uint8Array(32).fill(7);
  const sealed = await sealSeed(seed, "pw", "pk", { logN: 15, r: 8, p: 1 });
  assert.ok(await openSeed(sealed, "pw", "pk"), "the weakest accepted setting opens");
  const rangeError = (p: Promise<unknown>) => p.then(() => false, (e) => e instanceof RangeError);
  const refused = [{ logN: 20, r: 16, p: 4 }, { logN: 1, r: 1, p: 1 }, { logN: 13, r: 8, p: 1 }, { logN: 17, r: 8, p: 5 }, { logN: 22, r: 1, p: 1 }];
  for (const params of refused) {
    assert.ok(scryptProblem(params), JSON.stringify(params));
    assert.ok(await rangeError(openSeed({ ...sealed, ...params }, "pw", "pk")));
    assert.ok(await rangeError(sealSeed(seed, "pw", "pk", params)));
  }
  assert.is(scryptProblem(SCRYPT_DEFAULT), null);
  const file = JSON.parse((await runChat(["keygen", "--passphrase-env", "PASS"], { env: { PASS: "x" } })).stdout);
  for (const params of refused) {
    const r = await runChat(["id"], { stdin: JSON.stringify({ ...file, encrypted: { ...file.encrypted, ...params } }) });
    assert.is(r.code, 2, r.stderr);
    assert.is(errorOf(r).code, "BAD_IDENTITY");
    assert.match(errorOf(r).message, "scrypt");
  }
});

cli("a sealed identity opens only with the right passphrase", async () => {
  const path = join(dir, "locked.json");
  const env = { PASS: "correct horse", WRONG: "battery staple" };
  const gen = await runChat(["keygen", "--out", path, "--passphrase-env", "PASS"], { env });
  assert.is(gen.code, 0, gen.stderr);
  const file = JSON.parse(readFileSync(path, "utf8"));
  assert.not.ok("seed" in file, "no clear seed in a sealed file");
  assert.is(file.encrypted.kdf, "scrypt");
  const { openIdentity } = await import("./_identity_open.ts");
  assert.is(await openIdentity(path, "PASS", env), file.publicKey);
  const failure = (p: Promise<unknown>) => p.then(() => undefined, (e: { code?: string; exitCode?: number }) => e);
  const wrong = await failure(openIdentity(path, "WRONG", env));
  assert.is(wrong?.code, "BAD_PASSPHRASE");
  assert.is(wrong?.exitCode, 2);
  // No passphrase variable and no terminal to ask on (a session of its own has none): exit 2.
  const none = await runChat(["announce", "--identity", path, "--bootstrap", "127.0.0.1:9"], { detached: true });
  assert.is(none.code, 2, none.stderr);
  assert.is(errorOf(none).code, "NO_PASSPHRASE");
});

cli("bad input gets a JSON error and exit 2", async () => {
  const cases: [string[], string | undefined, string][] = [
    [["id"], "not json", "BAD_IDENTITY"],
    [["id"], '{"type":"chat-identity","version":1,"publicKey":"x","seed":"00"}', "BAD_IDENTITY"],
    [["id", join(dir, "missing.json")], undefined, "CANNOT_READ"],
    [["frobnicate"], undefined, "UNKNOWN_COMMAND"],
    [["keygen", "--bogus"], undefined, "USAGE"],
  ];
  for (const [args, stdin, code] of cases) {
    const r = await runChat(args, stdin === undefined ? {} : { stdin });
    assert.is(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.is(r.stdout, "", "nothing on stdout");
    assert.is(errorOf(r).code, code);
  }
});

cli("a tampered identity file is rejected", async () => {
  const gen = JSON.parse((await runChat(["keygen"])).stdout);
  const other = JSON.parse((await runChat(["keygen"])).stdout);
  const path = join(dir, "mixed.json");
  writeFileSync(path, JSON.stringify({ ...gen, publicKey: other.publicKey }));
  const r = await runChat(["id", path]);
  assert.is(r.code, 2);
  assert.is(errorOf(r).code, "BAD_IDENTITY");
});

cli("--help describes every command", async () => {
  const r = await runChat(["--help"]);
  assert.is(r.code, 0);
  for (const c of ["keygen", "id"]) assert.match(r.stdout, c);
  const k = await runChat(["keygen", "--help"]);
  assert.match(k.stdout, "--out");
  assert.match(k.stdout, "--passphrase-env");
});

cli.run();
