// Peer.reply when the sender's session is gone (a `chat send` closes it once its messages are
// acknowledged): the reply looks the sender up instead of failing, and fails cleanly (NOT_FOUND)
// only when the sender cannot be found at all.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { createTestnet, generateIdentity, Peer, type Testnet } from "../mod.ts";

const reply = suite("peer: reply after the sender closed its session");
let net: Testnet;
const peers: Peer[] = [];
const open = async () => {
  const p = await Peer.open({ identity: generateIdentity(), host: "127.0.0.1", bootstrap: net.bootstrap });
  peers.push(p);
  await p.bootstrap();
  return p;
};

reply.before(async () => {
  net = await createTestnet(16);
});
reply.after(() => {
  for (const p of peers) p.close();
  net.destroy();
});

reply("a sender that closed its session but is announced gets the reply through a lookup", async () => {
  const [bot, user] = [await open(), await open()];
  await Promise.all([bot.keepAnnounced(), user.keepAnnounced()]);
  const botInbox = bot.messages(), userInbox = user.messages();
  // A message is acked when the application takes it: read while sending.
  const next = botInbox.next();
  await user.send(bot.publicKey, "ping");
  const got = (await next).value!;
  user.sessions.closeSession(bot.identity.publicKey);
  // The close frame reaches the bot: its session with the user is gone.
  for (let i = 0; i < 50 && bot.sessions.hasSession(user.identity.publicKey); i++) await new Promise((r) => setTimeout(r, 20));
  assert.not.ok(bot.sessions.hasSession(user.identity.publicKey));
  const pong = userInbox.next();
  const delivery = await bot.reply(got.from, "pong");
  assert.type(delivery.rttMs, "number");
  assert.is((await pong).value?.text, "pong");
});

reply("a sender that left and never announced: the reply fails with NOT_FOUND, nothing else breaks", async () => {
  const [bot, user] = [await open(), await open()];
  await bot.keepAnnounced();
  const botInbox = bot.messages();
  const next = botInbox.next();
  await user.send(bot.publicKey, "hello");
  const got = (await next).value!;
  user.close();
  for (let i = 0; i < 50 && bot.sessions.hasSession(user.identity.publicKey); i++) await new Promise((r) => setTimeout(r, 20));
  const err = await bot.reply(got.from, "anyone?").then(() => null, (e) => e);
  assert.is(err?.code, "NOT_FOUND");
  // The bot still answers others.
  const other = await open();
  const otherInbox = other.messages();
  const asked = botInbox.next();
  await other.send(bot.publicKey, "still there?");
  const m = (await asked).value!;
  const answer = otherInbox.next();
  await bot.reply(m.from, "yes");
  assert.is((await answer).value?.text, "yes");
});

reply.run();
