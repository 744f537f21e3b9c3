// One entry point for every suite, on Node (dist/test/*.test.js) and Deno (test/*.test.ts).
// Suites are discovered by name, so adding a file is enough; CHAT_TEST=substr runs a subset.
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";

// uvu queues suites instead of running each at once, so one summary covers every file.
(globalThis as { UVU_DEFER?: number }).UVU_DEFER = 1;
const queue = ((globalThis as { UVU_QUEUE?: unknown[][] }).UVU_QUEUE ??= []);

const dir = fileURLToPath(new URL(".", import.meta.url));
const filter = process.env.CHAT_TEST ?? "";
const suites = readdirSync(dir)
  .filter((f) => /\.test\.(ts|js)$/.test(f) && f.includes(filter))
  .sort();
for (const [i, f] of suites.entries()) {
  (globalThis as { UVU_INDEX?: number }).UVU_INDEX = i;
  queue.push([f]);
  await import(new URL(f, import.meta.url).href);
}
const { exec } = await import("uvu");
await exec();
// A suite that leaked a socket or timer would keep the process alive: fail loudly instead.
process.exit(process.exitCode ?? 0);
