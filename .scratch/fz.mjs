import { fuzzNode } from "../dist/test/_dht_fuzz.js";
const r = await fuzzNode(100000, 1);
console.log(JSON.stringify({ ...r, stats: r.stats }, null, 1));
