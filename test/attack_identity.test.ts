// Attack: identity files (issue 9). Before: scrypt parameters the docs allowed crashed with an
// INTERNAL error while logN 1 was accepted, and files were not written atomically. Defence:
// bounded parameters (keyfile.ts), temp file + fsync + link (_identity.ts).
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { openSeed, sealSeed } from "../src/crypto/keyfile.ts";
import { attackMs, report, rssMiB, sleep } from "./_attack_dht.ts";
import { errorOf, finished, runChat, startChat } from "./_cli.ts";

const test = suite("attack: identity files");
const dir = mkdtempSync(join(tmpdir(), "chat-attack-id-"));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test("hostile scrypt parameters are refused at once with exit 2, without allocating", async () => {
  const sealed = await sealSeed(new Uint8Array(32), "pw", "pk", { logN: 15, r: 8, p: 1 });
  const rss0 = rssMiB();
  const started = Date.now();
  const hostile = [{ logN: 30, r: 64, p: 64 }, { logN: 20, r: 16, p: 4 }, { logN: 1, r: 1, p: 1 }];
  for (const params of hostile) {
    const refused = await openSeed({ ...sealed, ...params }, "pw", "pk").then(() => false, (e) => e instanceof RangeError);
    assert.ok(refused, JSON.stringify(params));
  }
  const inProcessMs = Date.now() - started;
  const file = JSON.parse((await runChat(["keygen", "--passphrase-env", "P"], { env: { P: "x" } })).stdout);
  const codes = [];
  for (const params of hostile) {
    const r = await runChat(["id"], { stdin: JSON.stringify({ ...file, encrypted: { ...file.encrypted, ...params } }) });
    codes.push(`${r.code} ${errorOf(r).code}`);
  }
  const figures = { inProcessMs, rssGrowthMiB: Math.round(rssMiB() - rss0), cli: codes };
  report("identity-params", figures);
  assert.ok(inProcessMs < 100, `refused before any derivation: ${inProcessMs} ms`);
  assert.ok(figures.rssGrowthMiB < 16, `RSS grew ${figures.rssGrowthMiB} MiB`);
  assert.equal(codes, hostile.map(() => "2 BAD_IDENTITY"));
});

test("concurrent keygen --out to one path: exactly one wins; a keygen killed mid-way leaves the file whole or absent", async () => {
  const end = Date.now() + attackMs(3);
  let races = 0, kills = 0, whole = 0, absent = 0;
  for (let round = 0; round === 0 || Date.now() < end; round++) {
    const path = join(dir, `race-${round}.json`);
    const results = await Promise.all([0, 1, 2, 3].map(() => runChat(["keygen", "--out", path])));
    races++;
    const won = results.filter((r) => r.code === 0);
    assert.is(won.length, 1, "one winner");
    for (const r of results) if (r.code !== 0) assert.is(errorOf(r).code, "FILE_EXISTS");
    assert.is(JSON.parse(readFileSync(path, "utf8")).publicKey, JSON.parse(won[0]!.stdout).publicKey, "the winner's file, whole");
    // A sealed keygen spends ~0.7 s in scrypt before writing: kill it at a random moment.
    const killed = join(dir, `killed-${round}.json`);
    const child = startChat(["keygen", "--out", killed, "--passphrase-env", "P"], { env: { P: "x" } });
    child.stdin!.end();
    const done = finished(child, 20_000);
    await sleep(Math.random() * 1500);
    child.kill("SIGKILL");
    await done;
    kills++;
    if (!existsSync(killed)) absent++;
    else if (JSON.parse(readFileSync(killed, "utf8")).encrypted) whole++;
  }
  const figures = { races, kills, whole, absent };
  report("identity-files", figures);
  assert.is(whole + absent, kills, "never a torn file");
  assert.equal(readdirSync(dir).filter((f) => f.startsWith("race-")).length, races);
});

test.run();
