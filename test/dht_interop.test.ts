// Interoperation with an independent Mainline DHT implementation (bittorrent-dht, webtorrent) on
// loopback: a mixed swarm of 10 of our nodes and 10 of theirs; puts and gets both ways.
import { ed25519 } from "@noble/curves/ed25519.js";
import DHT from "bittorrent-dht";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import type { DhtNode } from "../src/dht/node.ts";
import { createTestnet, startNode, type Testnet } from "../src/dht/testnet.ts";
import { bytes, signed } from "./_dht.ts";

const test = suite("dht interop (bittorrent-dht)");
let ours: Testnet;
let client: DhtNode;
const theirs: DHT[] = [];
const verify = (sig: Uint8Array, msg: Uint8Array, pk: Uint8Array) => ed25519.verify(sig, msg, pk, { zip215: false });
const seed = (n: number) => new Uint8Array(32).fill(n);

function theirGet(dht: DHT, target: Uint8Array, salt?: Uint8Array) {
  return new Promise<{ v: Uint8Array; seq?: number } | null>((resolve, reject) =>
    dht.get(Buffer.from(target), salt ? { salt: Buffer.from(salt) } : {}, (err, value) => (err ? reject(err) : resolve(value))));
}

function theirPut(dht: DHT, opts: Parameters<DHT["put"]>[0]) {
  return new Promise<Uint8Array>((resolve, reject) => dht.put(opts, (err, key) => (err ? reject(err) : resolve(key))));
}

test.before(async () => {
  ours = await createTestnet(10);
  for (let i = 0; i < 10; i++) {
    const dht = new DHT({ bootstrap: ours.bootstrap.map((a) => `${a.host}:${a.port}`), verify, host: "127.0.0.1" });
    theirs.push(dht);
    await new Promise<void>((resolve) => dht.listen(0, "127.0.0.1", resolve));
    await new Promise((resolve) => dht.once("ready", resolve));
  }
  // Our nodes meet theirs by looking themselves up again.
  for (const node of ours.nodes) await node.bootstrap();
  client = await startNode({ host: "127.0.0.1", bootstrap: ours.bootstrap });
  await client.bootstrap();
});

test.after(async () => {
  client.destroy();
  ours.destroy();
  await Promise.all(theirs.map((d) => new Promise<void>((resolve) => d.destroy(() => resolve()))));
});

test("our mutable put (with and without salt), their get", async () => {
  for (const salt of [undefined, bytes("salty")]) {
    const put = await client.put(signed(seed(20), 3, bytes("from us"), salt));
    assert.is(put.stored.length, 8);
    const got = await theirGet(theirs[3]!, put.target, salt);
    assert.is(Buffer.from(got!.v).toString(), "from us");
    assert.is(got!.seq, 3);
  }
});

test("their mutable put (with and without salt), our get", async () => {
  for (const salt of [undefined, Buffer.from("peppery")]) {
    const k = Buffer.from(ed25519.getPublicKey(seed(21)));
    const target = await theirPut(theirs[5]!, {
      k, seq: 7, v: Buffer.from("from them"), ...(salt ? { salt } : {}),
      sign: (buf) => Buffer.from(ed25519.sign(buf, seed(21))),
    });
    const got = await client.get(target, salt ? { salt } : {});
    assert.equal(got.item?.v, bytes("from them"));
    assert.is(got.item?.seq, 7);
    assert.ok(got.from.length >= 1);
  }
});

test("immutable items both ways", async () => {
  const key = await theirPut(theirs[1]!, { v: Buffer.from("immutable from them") });
  assert.equal((await client.get(key)).item?.v, bytes("immutable from them"));
  const put = await client.put({ v: bytes("immutable from us") });
  assert.is(Buffer.from((await theirGet(theirs[7]!, put.target))!.v).toString(), "immutable from us");
});

test("each side's find_node finds the other's nodes", async () => {
  const target = theirs[4]!.nodeId;
  const found = await client.findNode(target);
  assert.equal(Buffer.from(found.nodes[0]!.id), Buffer.from(target));
  const ourTarget = ours.nodes[2]!.id;
  const seen: Uint8Array[] = [];
  await new Promise<void>((resolve) => theirs[8]!._rpc.closest(Buffer.from(ourTarget),
    { q: "find_node", a: { id: theirs[8]!.nodeId, target: Buffer.from(ourTarget) } }, (m) => { seen.push(m.r.id); }, () => resolve()));
  assert.ok(seen.some((id) => Buffer.from(id).equals(Buffer.from(ourTarget))));
});

test.run();
