// BEP 42 node ids: the BEP's own vectors, generation, and the exempt local blocks.
import { readFileSync } from "node:fs";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { crc32c, isLocal, nodeIdFor, validNodeId } from "../src/dht/bep42.ts";
import { fromHex } from "./_dht.ts";

const test = suite("dht bep42");
const v = JSON.parse(readFileSync("test/vectors/bep42.json", "utf8")) as {
  valid: { ip: string; rand: number; id: string }[];
  invalid: { ip: string; id: string; why: string }[];
  exempt: string[];
  notExempt: string[];
};

test("CRC32C check value (RFC 3720 B.4: \"123456789\" → e3069283)", () => {
  assert.is(crc32c(new TextEncoder().encode("123456789")), 0xe3069283);
});

test("the BEP's vectors verify, and ids generated with the same rand share their 21-bit prefix", () => {
  for (const c of v.valid) {
    assert.ok(validNodeId(fromHex(c.id), c.ip), c.ip);
    const made = nodeIdFor(c.ip, c.rand)!;
    assert.ok(validNodeId(made, c.ip));
    assert.is(made[19], c.rand);
    assert.equal([made[0], made[1], made[2]! & 0xf8], [fromHex(c.id)[0], fromHex(c.id)[1], fromHex(c.id)[2]! & 0xf8]);
  }
});

test("invalid ids are refused", () => {
  for (const c of v.invalid) assert.not.ok(validNodeId(fromHex(c.id), c.ip), c.why);
  assert.not.ok(validNodeId(fromHex(v.valid[0]!.id), "::1"), "not IPv4");
  assert.is(nodeIdFor("example.org"), null);
});

test("the local network blocks BEP 42 exempts, and nothing else", () => {
  for (const ip of v.exempt) assert.ok(isLocal(ip), ip);
  for (const ip of v.notExempt) assert.not.ok(isLocal(ip), ip);
});

test.run();
