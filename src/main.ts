// Executable entry point, for both runtimes: `deno task chat …` and `npx chat …` (via bin/chat.mjs).
import { main } from "./cli.ts";

process.exitCode = await main(process.argv.slice(2));
