import { createTestnet, startNode } from "../dist/src/dht/testnet.js";
const net = await createTestnet(12);
for (let i = 0; i < 3; i++) {
  const c = await startNode({ bootstrap: net.bootstrap });
  let t = Date.now();
  const b = await c.bootstrap();
  console.log("bootstrap", Date.now() - t, b.stats, c.table.size);
  t = Date.now();
  const g = await c.get(new Uint8Array(20));
  console.log("get", Date.now() - t, g.stats);
  c.destroy();
}
net.destroy();
