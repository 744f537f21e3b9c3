// Real UDP on 127.0.0.1: the transport, a 30-node testnet, saved state, bootstrap errors.
import { readFileSync } from "node:fs";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { DhtNode } from "../src/dht/node.ts";
import { createTestnet, startNode, type Testnet } from "../src/dht/testnet.ts";
import { UdpTransport } from "../src/dht/udp.ts";
import { ChatError } from "../src/errors.ts";
import { bytes, signed } from "./_dht.ts";

const test = suite("dht udp");
let net: Testnet;
const opened: DhtNode[] = [];
const client = async (opts: Parameters<typeof startNode>[0] = {}) => {
  const node = await startNode({ host: "127.0.0.1", bootstrap: net.bootstrap, ...opts });
  opened.push(node);
  return node;
};

test.before(async () => {
  net = await createTestnet(30);
});
test.after(() => {
  for (const node of opened) node.destroy();
  net.destroy();
});

test("UdpTransport sends and receives datagrams; onMessage replaces the handler", async () => {
  const a = await UdpTransport.bind({ host: "127.0.0.1" });
  const b = await UdpTransport.bind({ host: "127.0.0.1" });
  try {
    const got = new Promise<[string, number]>((resolve) => b.onMessage((buf, from) => resolve([Buffer.from(buf).toString(), from.port])));
    a.send(bytes("hi"), b.address());
    assert.equal(await got, ["hi", a.address().port]);
    assert.is(a.address().host, "127.0.0.1");
  } finally {
    a.close();
    b.close();
    a.close();
  }
});

test("UdpTransport asks Node for a 4 MiB receive buffer (Linux grants up to net.core.rmem_max, doubled)", async () => {
  const t = await UdpTransport.bind({ host: "127.0.0.1" });
  try {
    if ("Deno" in globalThis) {
      // Deno's own socket (udp_deno.ts), not node:dgram: deno.json turns on the "net" feature.
      assert.is(t.kind, "Deno.listenDatagram");
      assert.is(t.receiveBufferSize(), undefined);
    } else {
      const max = Number(readFileSync("/proc/sys/net/core/rmem_max", "utf8"));
      assert.is(t.kind, "node:dgram");
      assert.is(t.receiveBufferSize(), 2 * Math.min(4 << 20, max));
    }
  } finally {
    t.close();
  }
});

test("UdpTransport: each datagram arrives whole (up to 65,507 bytes) in bytes of its own; closed, it sends nothing", async () => {
  const a = await UdpTransport.bind({ host: "127.0.0.1" });
  const b = await UdpTransport.bind({ host: "127.0.0.1" });
  try {
    const got: Uint8Array[] = [];
    const all = new Promise<void>((resolve) => b.onMessage((buf) => {
      got.push(buf);
      if (got.length === 3) resolve();
    }));
    const sizes = [1200, 65507, 3];
    sizes.forEach((n, i) => a.send(new Uint8Array(n).fill(i + 1), b.address()));
    await all;
    // Deno sends datagrams handed over in one go in reverse order (node:dgram there too): not ours to fix.
    got.sort((x, y) => x[0]! - y[0]!);
    assert.equal(got.map((g) => g.length), sizes);
    got.forEach((g, i) => assert.ok(g.every((x) => x === i + 1), `datagram ${i}`));
    got[0]!.fill(0); // a handler may keep or change its bytes: no other datagram's are these
    assert.ok(got[1]!.every((x) => x === 2) && got[2]!.every((x) => x === 3));
    const late: Uint8Array[] = [];
    b.onMessage((buf) => late.push(buf));
    a.close();
    a.send(new Uint8Array(10), b.address());
    await new Promise((r) => setTimeout(r, 50));
    assert.is(late.length, 0);
  } finally {
    a.close();
    b.close();
  }
});

test("a 30-node testnet: every node knows the others", () => {
  assert.is(net.nodes.length, 30);
  assert.is(net.bootstrap.length, 4);
  for (const node of net.nodes) assert.ok(node.table.size >= 12, `a node knows ${node.table.size}`);
});

test("put and get over UDP, mutable and immutable", async () => {
  const a = await client(), b = await client();
  await a.bootstrap();
  await b.bootstrap();
  const item = signed(new Uint8Array(32).fill(8), 1, bytes("over udp"), bytes("s"));
  const put = await a.put(item);
  assert.is(put.stored.length, 8);
  const got = await b.get(put.target, { salt: bytes("s") });
  assert.equal(got.item?.v, bytes("over udp"));
  const imm = await a.put({ v: [1, bytes("two")] });
  const back = await b.get(imm.target);
  assert.equal(back.item?.v, [1, bytes("two")]);
  assert.equal(a.externalAddress(), a.address(), "BEP 42: the others see us at our loopback address");
});

test("a saved table lets a node start with no bootstrap list", async () => {
  const a = await client();
  await a.bootstrap();
  const state = JSON.parse(JSON.stringify(a.toJSON()));
  const b = await client({ state, bootstrap: [] });
  const res = await b.bootstrap();
  assert.ok(res.stats.responses >= 8);
  assert.equal(b.id, a.id);
});

test("a node runs on a wrapped, shared socket: datagrams starting with 'd' go to the DHT", async () => {
  const socket = await UdpTransport.bind({ host: "127.0.0.1" });
  const other: number[] = [];
  let toDht: (buf: Uint8Array, from: { host: string; port: number }) => void = () => {};
  socket.onMessage((buf, from) => (buf[0] === 0x64 ? toDht(buf, from) : other.push(buf[0]!)));
  const shared = new DhtNode({
    transport: { send: (b, to) => socket.send(b, to), onMessage: (cb) => void (toDht = cb), address: () => socket.address(), close: () => {} },
    bootstrap: net.bootstrap,
  });
  opened.push(shared);
  try {
    await shared.bootstrap();
    const probe = await UdpTransport.bind({ host: "127.0.0.1" });
    probe.send(new Uint8Array([1, 0, 0, 0]), socket.address());
    await new Promise((r) => setTimeout(r, 20));
    probe.close();
    assert.equal(other, [1], "a session packet went the other way");
    assert.is((await net.nodes[0]!.ping(socket.address())).id.length, 20);
  } finally {
    shared.destroy();
    socket.close();
  }
});

test("no bootstrap node answering is ChatError.network", async () => {
  const gone = await UdpTransport.bind({ host: "127.0.0.1" });
  const port = gone.address().port;
  gone.close();
  const lonely = await client({ bootstrap: [{ host: "127.0.0.1", port }], timeout: 200 });
  const err = await lonely.bootstrap().catch((e) => e);
  assert.instance(err, ChatError);
  assert.is(err.code, "NO_NETWORK");
  assert.is(err.exitCode, 3);
});

test.run();
