// The hand-written checks of src/_check.ts against zod, the reference they replace on the CLI's
// start-up path: for every rule the CLI uses, on good, bad and odd inputs, the same value out or
// the same first problem (path and message), so no error message changed when zod left.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { z } from "zod";
import {
  array, boolean, check, CheckError, literal, number, numeric, object, optional, string, text, textOf, withDefault, type Check,
} from "../src/_check.ts";
import { errorOf, runChat } from "./_cli.ts";

const checks = suite("checks: the same answers as zod");

type Outcome = { ok: true; value: unknown } | { ok: false; path: PropertyKey[]; message: string };

function ours(c: Check<unknown>, v: unknown): Outcome {
  try {
    return { ok: true, value: check(c, v) };
  } catch (err) {
    assert.instance(err, CheckError);
    const issue = (err as CheckError).issues[0]!;
    return { ok: false, path: issue.path, message: issue.message };
  }
}

function theirs(s: z.ZodType, v: unknown): Outcome {
  const r = s.safeParse(v);
  if (r.success) return { ok: true, value: r.data };
  const issue = r.error.issues[0]!;
  return { ok: false, path: issue.path, message: issue.message };
}

const odd = [undefined, null, true, false, 0, -1, 1.5, NaN, Infinity, -Infinity, 2 ** 60, -(2 ** 60), "", " 7 ", "abc", "0x10", "1e3", "-0", [], [1], {}];
const numbers = ["0", "1", "-1", "5", "65535", "65536", "86400", "86401", "0.5", "2.5", "1e20", "-1e20", "9007199254740993", "Infinity", "-Infinity", "NaN", "x"];

const rules: [string, Check<unknown>, z.ZodType, unknown[]][] = [
  ["port", numeric({ int: true, min: 0, max: 65535 }), z.coerce.number().int().min(0).max(65535), numbers],
  ["timeout", numeric({ int: true, gt: 0 }), z.coerce.number().int().positive(), numbers],
  ["wait", numeric({ min: 0, max: 86_400 }), z.coerce.number().min(0).max(86_400), numbers],
  ["keepalive", numeric({ gt: 0, max: 3600 }), z.coerce.number().positive().max(3600), numbers],
  ["logN", number({ int: true, min: 1, max: 30 }), z.number().int().min(1).max(30), [1, 30, 31, 0, 2.5, ...numbers]],
  ["text", text, z.coerce.string(), ["a", "007", true]],
  ["text min 1", textOf({ min: 1 }), z.coerce.string().min(1), ["a", "", true]],
  ["boolean", boolean, z.boolean(), []],
  ["literal string", literal("chat-identity"), z.literal("chat-identity"), ["chat-identity", "chat-identity "]],
  ["literal number", literal(1), z.literal(1), ["1"]],
  ["string", string(), z.string(), ["a"]],
  ["hex", string({ regex: /^[0-9a-f]{4}$/, message: "expected 4 lowercase hex characters" }), z.string().regex(/^[0-9a-f]{4}$/, "expected 4 lowercase hex characters"), ["abcd", "ABCD", "abc"]],
  ["pattern", string({ regex: /^[0-9a-f]{32,128}$/ }), z.string().regex(/^[0-9a-f]{32,128}$/), ["0".repeat(32), "0".repeat(31)]],
  ["host", string({ max: 4 }), z.string().max(4), ["abcd", "abcde"]],
  ["optional", optional(numeric({ int: true })), z.coerce.number().int().optional(), ["3"]],
  ["default", withDefault(numeric({ int: true, min: 8 }), 50), z.coerce.number().int().min(8).default(50), ["8", "7"]],
  ["array", array(string(), { max: 2 }), z.array(z.string()).max(2), [["a", "b"], ["a", "b", "c"], ["a", 1], [1, 2, 3]]],
  ["object", object({ a: literal(1), b: optional(string()), c: array(object({ d: number({ int: true }) })) }),
    z.object({ a: z.literal(1), b: z.string().optional(), c: z.array(z.object({ d: z.number().int() })) }),
    [{ a: 1, c: [] }, { a: 1, b: "x", c: [{ d: 1 }], extra: 2 }, { a: 2 }, { a: 1, b: 2 }, { a: 1, c: [{ d: 1 }, { d: 1.5 }] }, { a: 1, c: [{}] }, { a: 1, c: {} }]],
];

for (const [name, mine, zods, inputs] of rules) {
  checks(`${name}: same value or same first problem`, () => {
    for (const v of [...odd, ...inputs]) assert.equal(ours(mine, v), theirs(zods, v), `${name}: ${String(v)}`);
  });
}

checks("a bad option reads as before: its name, then zod's words", async () => {
  const r = await runChat(["send", "y".repeat(52), "hi", "--timeout", "0"]);
  assert.is(r.code, 2);
  assert.equal(errorOf(r), { code: "BAD_OPTION", message: "Invalid option --timeout: Too small: expected number to be >0" });
});

checks.run();
