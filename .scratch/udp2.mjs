import { createTestnet, startNode } from "../dist/src/dht/testnet.js";
const net = await createTestnet(10);
const a = await startNode({ host: "127.0.0.1", bootstrap: net.bootstrap });
await a.bootstrap();
const imm = await a.put({ v: new TextEncoder().encode("over udp") });
const b = await startNode({ host: "127.0.0.1", bootstrap: net.bootstrap });
const got = await b.get(imm.target);
console.log(got.item.v, got.item.v.constructor.name, got.item.v.length, got.item.raw);
a.destroy(); b.destroy(); net.destroy();
