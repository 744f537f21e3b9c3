// The README's echo bot, as a file the test suite runs against a real `chat send --wait`.
// Outside this repository the import is `from "mainline-chat"` (Node) or the URL of mod.ts (Deno).
//   CHAT_BOOTSTRAP=127.0.0.1:PORT node dist/examples/echo_bot.js     (or: deno run -A examples/echo_bot.ts)
import { formatPublicKey, generateIdentity, Peer } from "../mod.ts";

// CHAT_BOOTSTRAP=host:port,… as the CLI takes it; unset means the public Mainline routers.
const bootstrap = process.env["CHAT_BOOTSTRAP"]?.split(",").map((hp) => {
  const colon = hp.lastIndexOf(":");
  return { host: hp.slice(0, colon).replace(/^\[|\]$/g, ""), port: Number(hp.slice(colon + 1)) };
});
const peer = await Peer.open({ identity: generateIdentity(), ...(bootstrap ? { bootstrap } : {}) });
await peer.bootstrap();
await peer.keepAnnounced();
console.log("talk to me:", peer.publicKey);

for await (const m of peer.messages()) {
  const from = formatPublicKey(m.from);
  console.log(`${from}: ${m.text}`);
  // Not awaited: a sender that vanished costs a lookup or a timeout, and must not stall the others.
  peer.reply(m.from, `echo: ${m.text}`).catch((err: Error) => console.error(`reply to ${from} failed: ${err.message}`));
}
