import { createTestnet } from "../dist/src/dht/testnet.js";
const n = Number(process.argv[2] ?? 30);
let t = performance.now();
const net = await createTestnet(n);
console.log("ms", Math.round(performance.now() - t), net.nodes.map(x => x.table.size).sort((a,b)=>a-b).join(","));
console.log(net.nodes[5].table.refreshTargets(Date.now(), 900000).length);
net.destroy();
