// Contacts: petnames kept in one JSON file in the state directory, written atomically and under a
// lock, so concurrent writers and crashes never lose it.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { Contacts, stateDirectory } from "../src/contacts.ts";
import { errorOf, runChat } from "./_cli.ts";

const contacts = suite("cli: contacts");
const dir = mkdtempSync(join(tmpdir(), "chat-contacts-"));
contacts.after(() => rmSync(dir, { recursive: true, force: true }));
const KEY = "yqooxx9u3aemh8mo5wcqq16yufu6jitouq1o4za751dger1igghy";

const keys = async (n: number) => Promise.all(Array.from({ length: n }, async () => JSON.parse((await runChat(["keygen"])).stdout).publicKey as string));

contacts("add, list, rm; the same pair again is a no-op; another key for a name needs --force", async () => {
  const env = { CHAT_STATE_DIR: join(dir, "basic") };
  const [other] = await keys(1);
  const add = await runChat(["contacts", "add", "alice", KEY], { env });
  assert.is(add.code, 0, add.stderr);
  assert.equal(JSON.parse(add.stdout), { added: "alice", publicKey: KEY });
  assert.is((await runChat(["contacts", "add", "alice", KEY], { env })).code, 0);
  const clash = await runChat(["contacts", "add", "alice", other!], { env });
  assert.is(clash.code, 2);
  assert.is(errorOf(clash).code, "CONTACT_EXISTS");
  assert.is((await runChat(["contacts", "add", "alice", other!, "--force"], { env })).code, 0);
  const list = JSON.parse((await runChat(["contacts", "list"], { env })).stdout);
  assert.equal(list.contacts.map((c: { name: string; publicKey: string }) => [c.name, c.publicKey]), [["alice", other]]);
  const rm = await runChat(["contacts", "rm", "alice"], { env });
  assert.is(rm.code, 0, rm.stderr);
  const again = await runChat(["contacts", "rm", "alice"], { env });
  assert.is(again.code, 1);
  assert.is(errorOf(again).code, "NOT_FOUND");
  for (const [args, code] of [[["contacts", "add", "bad name", KEY], "BAD_NAME"], [["contacts", "add", "bob", "nope"], "BAD_PUBLIC_KEY"], [["contacts", "frob"], "USAGE"]] as const) {
    const r = await runChat([...args], { env });
    assert.is(r.code, 2, r.stderr);
    assert.is(errorOf(r).code, code);
  }
});

contacts("the state directory: --state-dir, CHAT_STATE_DIR, $XDG_STATE_HOME/chat, ~/.local/state/chat", () => {
  const saved = { ...process.env };
  try {
    delete process.env["CHAT_STATE_DIR"];
    process.env["XDG_STATE_HOME"] = "/x/state";
    assert.is(stateDirectory(), "/x/state/chat");
    delete process.env["XDG_STATE_HOME"];
    process.env["HOME"] = "/home/someone";
    assert.match(stateDirectory(), /\.local\/state\/chat$/);
    process.env["CHAT_STATE_DIR"] = "/y";
    assert.is(stateDirectory(), "/y");
    assert.is(stateDirectory("/z"), "/z");
  } finally {
    for (const k of ["CHAT_STATE_DIR", "XDG_STATE_HOME", "HOME"]) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  }
});

contacts("twelve processes adding at once: every contact is kept, no temp or lock file is left", async () => {
  const state = join(dir, "concurrent");
  const ks = await keys(12);
  const runs = await Promise.all(ks.map((k, i) => runChat(["contacts", "add", `p${i}`, k, "--state-dir", state])));
  for (const r of runs) assert.is(r.code, 0, r.stderr);
  const names = new Contacts(state).list().map((c) => c.name).sort();
  assert.equal(names, ks.map((_, i) => `p${i}`).sort());
  assert.equal(readdirSync(state), ["contacts.json"]);
});

contacts("a corrupt contacts file is reported and never overwritten; a stale lock is taken over", async () => {
  const state = join(dir, "corrupt");
  const c = new Contacts(state);
  c.add("zed", KEY);
  writeFileSync(c.path, "{ half a file");
  const r = await runChat(["contacts", "add", "amy", KEY, "--state-dir", state]);
  assert.is(r.code, 2);
  assert.is(errorOf(r).code, "BAD_CONTACTS");
  assert.is(readFileSync(c.path, "utf8"), "{ half a file");
  assert.is(c.nameOf(KEY), undefined, "labels are optional: a listener does not stop on a bad file");
  rmSync(c.path);
  // A crashed writer's lock (older than 30 s) does not block the next writer forever.
  writeFileSync(`${c.path}.lock`, "");
  const { utimesSync } = await import("node:fs");
  utimesSync(`${c.path}.lock`, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
  assert.is((await runChat(["contacts", "add", "amy", KEY, "--state-dir", state])).code, 0);
  assert.not.ok(existsSync(`${c.path}.lock`));
});

contacts("a contact name works wherever a PUBKEY does; an unknown name is exit 2", async () => {
  const env = { CHAT_STATE_DIR: join(dir, "names") };
  await runChat(["contacts", "add", "dora", KEY], { env });
  // No bootstrap node answers, so a resolved name gets as far as the network (exit 3).
  const known = await runChat(["lookup", "dora", "--bootstrap", "127.0.0.1:9", "--timeout", "3000"], { env });
  assert.is(known.code, 3, known.stderr);
  const unknown = await runChat(["send", "nobody", "hi", "--identity", "x.json"], { env });
  assert.is(unknown.code, 2);
  assert.is(errorOf(unknown).code, "UNKNOWN_CONTACT");
  assert.match(unknown.stderr, "chat contacts add nobody");
});

contacts.run();
