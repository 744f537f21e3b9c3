import DHT from "bittorrent-dht";
import { ed25519 } from "@noble/curves/ed25519.js";
import { createTestnet, startNode } from "../dist/src/dht/testnet.js";
import { signedBuffer } from "../dist/src/dht/item.js";
import { encode } from "../dist/src/dht/bencode.js";
const verify = (sig, msg, pk) => ed25519.verify(sig, msg, pk);
const tn = await createTestnet(10);
const theirs = [];
for (let i = 0; i < 10; i++) {
  const d = new DHT({ bootstrap: tn.bootstrap.map(a => `${a.host}:${a.port}`), verify, host: "127.0.0.1" });
  await new Promise(r => d.listen(0, "127.0.0.1", r));
  await new Promise(r => d.once("ready", r));
  theirs.push(d);
}
// our nodes learn theirs by looking themselves up again
for (const n of tn.nodes) await n.bootstrap();
const seed = new Uint8Array(32).fill(9);
const k = ed25519.getPublicKey(seed);
const v = Buffer.from("from us");
const salt = Buffer.from("salty");
const sig = ed25519.sign(signedBuffer(3, encode(v), salt), seed);
const ours = await startNode({ host: "127.0.0.1", bootstrap: tn.bootstrap });
await ours.bootstrap();
const put = await ours.put({ k, seq: 3, v, sig, salt });
console.log("our put stored", put.stored.length, put.errors);
const them = theirs[3];
const got = await new Promise((res, rej) => them.get(Buffer.from(put.target), { salt }, (e, v) => e ? rej(e) : res(v)));
console.log("their get", got && got.v.toString(), got && got.seq);
// their put, our get
const seed2 = new Uint8Array(32).fill(10);
const k2 = Buffer.from(ed25519.getPublicKey(seed2));
const key = await new Promise((res, rej) => them.put({ k: k2, seq: 7, v: Buffer.from("from them"), sign: (buf) => Buffer.from(ed25519.sign(buf, seed2)) }, (e, key, n) => e ? rej(e) : res(key)));
const got2 = await ours.get(key);
console.log("our get", got2.item && Buffer.from(got2.item.v).toString(), got2.item?.seq, got2.from.length);
const ikey = await new Promise((res, rej) => them.put({ v: Buffer.from("imm them") }, (e, key) => e ? rej(e) : res(key)));
const g3 = await ours.get(ikey);
console.log("our get imm", g3.item && Buffer.from(g3.item.v).toString());
const ip = await ours.put({ v: Buffer.from("imm us") });
const g4 = await new Promise((res, rej) => theirs[7].get(Buffer.from(ip.target), (e, v) => e ? rej(e) : res(v)));
console.log("their get imm", g4 && g4.v.toString());
const fn = await ours.findNode(theirs[5].nodeId);
console.log("our find_node finds theirs", Buffer.compare(Buffer.from(fn.nodes[0].id), theirs[5].nodeId) === 0);
const target = tn.nodes[2].id;
const found = [];
await new Promise(r => theirs[1]._rpc.closest(Buffer.from(target), { q: "find_node", a: { id: theirs[1].nodeId, target: Buffer.from(target) } }, (m) => { found.push(m.r.id); }, r));
console.log("their find_node reaches ours", found.some(id => Buffer.compare(id, Buffer.from(target)) === 0));
ours.destroy(); tn.destroy(); for (const d of theirs) d.destroy();
