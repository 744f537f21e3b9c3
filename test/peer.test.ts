// The library's Peer: one UDP socket for DHT and sessions, announce → lookup → send → reply.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { createTestnet, formatPublicKey, generateIdentity, Peer, type Testnet } from "../mod.ts";
import { UdpTransport } from "../src/dht/udp.ts";

const peer = suite("peer: the library API on a loopback swarm");
let net: Testnet;
const peers: Peer[] = [];
const open = async () => {
  const p = await Peer.open({ identity: generateIdentity(), host: "127.0.0.1", bootstrap: net.bootstrap });
  peers.push(p);
  await p.bootstrap();
  return p;
};

peer.before(async () => {
  net = await createTestnet(16);
});
peer.after(() => {
  for (const p of peers) p.close();
  net.destroy();
});

peer("an echo bot in a few lines answers a message found by public key", async () => {
  const bot = await open();
  await bot.keepAnnounced();
  void (async () => {
    for await (const m of bot.messages()) await bot.reply(m.from, `echo: ${m.text}`);
  })();

  const user = await open();
  const inbox = user.messages();
  const sent = await user.send(bot.publicKey, "ping");
  assert.is(sent.to, bot.publicKey);
  assert.is(sent.address.port, bot.address().port, "the DHT record pointed at the bot's shared socket");
  const answer = await inbox.next();
  assert.is(answer.value?.text, "echo: ping");
  assert.is(formatPublicKey(answer.value!.from), bot.publicKey);
});

peer("a second send goes on the session, and reports the peer's address (not our own)", async () => {
  const [a, b] = [await open(), await open()];
  await b.keepAnnounced();
  const inbox = b.messages();
  // A message is acked when the iterator yields it: read while sending.
  const [first, one] = await Promise.all([a.send(b.publicKey, "one"), inbox.next()]);
  const [second, two] = await Promise.all([a.send(b.publicKey, "two"), inbox.next()]);
  assert.is(second.lookupMs, 0, "no lookup: the session exists");
  assert.equal(second.address, first.address);
  assert.is(second.address.port, b.address().port);
  assert.equal([one.value?.text, two.value?.text], ["one", "two"]);
});

peer("a 64 KiB message crosses the shared socket intact", async () => {
  const [a, b] = [await open(), await open()];
  await b.keepAnnounced();
  const text = "€".repeat(65536 / 3 - 1) + "ok";
  const inbox = b.messages();
  const [, got] = await Promise.all([a.send(b.publicKey, text), inbox.next()]);
  assert.is(got.value?.text, text);
});

peer("send to an unknown key fails with NOT_FOUND (exit code 1)", async () => {
  const a = await open();
  const err = await a.send(formatPublicKey(generateIdentity().publicKey), "hello?").then(() => null, (e) => e);
  assert.is(err?.code, "NOT_FOUND");
  assert.is(err?.exitCode, 1);
});

peer("a first record whose address is dead: send looks the key up in full and reaches the peer", async () => {
  const [a, b] = [await open(), await open()];
  await b.keepAnnounced();
  const dead = await UdpTransport.bind({ host: "127.0.0.1" });
  const deadAddress = dead.address();
  dead.close();
  const asked: (boolean | undefined)[] = [];
  const lookup = a.lookup.bind(a);
  // As if the first record found were one from before the peer moved (a restart on a new port).
  a.lookup = async (key, opts = {}) => {
    asked.push(opts.first);
    const r = await lookup(key, opts);
    return opts.first && r.found ? { ...r, addresses: [deadAddress] } : r;
  };
  const inbox = b.messages();
  const [sent, got] = await Promise.all([a.send(b.publicKey, "moved?"), inbox.next()]);
  assert.equal(asked, [true, undefined], "the first record, then a full lookup after the handshake timed out");
  assert.is(sent.address.port, b.address().port);
  assert.is(got.value?.text, "moved?");
});

// Peer.reply when the sender's session is gone (a `chat send` closes it once its messages are
// acknowledged): the reply looks the sender up instead of failing, and fails cleanly (NOT_FOUND)
// only when the sender cannot be found at all.
peer("a sender that closed its session but is announced gets the reply through a lookup", async () => {
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

peer("a sender that left and never announced: the reply fails with NOT_FOUND, nothing else breaks", async () => {
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

peer.run();
