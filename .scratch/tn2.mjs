import { createTestnet } from "../dist/src/dht/testnet.js";
const net = await createTestnet(30);
const x = net.nodes[5];
const kb = x.table._kb;
const dump = (node, path) => node.contacts ? console.log(path || "(root)", node.contacts.length, node.dontSplit) : (dump(node.left, path + "0"), dump(node.right, path + "1"));
dump(kb.root, "");
const idbits = (id) => [...id.slice(0,1)].map(b => b.toString(2).padStart(8,"0")).join("");
console.log("self", idbits(x.id));
console.log(net.nodes.map(n => idbits(n.id)).sort().join(" "));
const targets = x.table.refreshTargets(Date.now(), 900000);
for (const t of targets) { const r = await x.findNode(t); console.log("target", idbits(t), r.stats, r.nodes.map(n => idbits(n.id)).join(" ")); }
dump(kb.root, "");
net.destroy();
