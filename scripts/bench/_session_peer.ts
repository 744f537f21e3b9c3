// The receiving end of session.bench.ts part 2 in a process of its own, so that each end of the
// stream has a core: `chat` (a SessionEndpoint on a loopback UDP socket whose application takes
// every message) or `hyperdht ADDRESS...` (a sink server on that testnet, answering one byte once
// the bytes it was told to expect arrived). It talks JSON lines: its first line says where it is;
// on stdin, `{"expect": N}` (hyperdht) is answered `{"ready": true}`; stdin's end ends it.
import { createInterface } from "node:readline";
import { generateIdentity } from "../../src/crypto/identity.ts";
import { UdpTransport } from "../../src/dht/udp.ts";
import { SessionEndpoint } from "../../src/wire/endpoint.ts";

const HOST = "127.0.0.1";
const say = (value: object) => process.stdout.write(`${JSON.stringify(value)}\n`);
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const [mode, ...bootstrap] = process.argv.slice(2);
const lines = createInterface({ input: process.stdin });

if (mode === "chat") {
  const identity = generateIdentity();
  const socket = await UdpTransport.bind({ host: HOST });
  const endpoint = new SessionEndpoint({ identity, send: (buf, to) => socket.send(buf, to) });
  socket.onMessage((buf, from) => endpoint.receive(buf, from));
  const inbox = endpoint.messages();
  void (async () => {
    for await (const _ of inbox);
  })();
  say({ publicKey: hex(identity.publicKey), port: socket.address().port });
  lines.on("close", () => {
    endpoint.close();
    socket.close();
  });
} else if (mode === "hyperdht") {
  type Socket = { on(e: string, f: (d: Uint8Array) => void): void; write(d: Uint8Array): boolean };
  type Node = {
    fullyBootstrapped(): Promise<void>;
    createServer(f: (s: Socket) => void): { listen(k: object): Promise<void> };
    destroy(): Promise<void>;
  };
  type DHT = { new (o: object): Node; keyPair(): { publicKey: Uint8Array } };
  const name = "hyperdht"; // CommonJS without types, loaded by a computed name so tsc leaves it alone
  const DHT = ((await import(name)) as { default: DHT }).default;
  const node = new DHT({ ephemeral: true, host: HOST, bootstrap: bootstrap.map((a) => ({ host: HOST, port: Number(a.split(":")[1]) })) });
  await node.fullyBootstrapped();
  let expect = 0;
  let counted = 0;
  const server = node.createServer((socket) => {
    socket.on("error", () => {});
    socket.on("data", (d) => {
      counted += d.length;
      if (expect && counted >= expect) {
        expect = 0;
        socket.write(new Uint8Array(1));
      }
    });
  });
  const keyPair = DHT.keyPair();
  await server.listen(keyPair);
  say({ publicKey: hex(keyPair.publicKey) });
  lines.on("line", (line) => {
    expect = (JSON.parse(line) as { expect: number }).expect;
    counted = 0;
    say({ ready: true });
  });
  lines.on("close", () => void node.destroy().then(() => process.exit(0)));
} else {
  console.error(`usage: _session_peer chat | hyperdht HOST:PORT...`);
  process.exit(2);
}
