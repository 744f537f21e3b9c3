import { run as swarm } from "../dist/src/commands/swarm.js";
import { run as dht } from "../dist/src/commands/dht.js";
import { writeFileSync } from "node:fs";
const p = swarm([], { nodes: 20 });
await new Promise(r => setTimeout(r, 1500));
