// Attack 1b (issue 9): a contact floods messages (128,661 in 55 s were delivered before). Defence:
// message and byte rates per peer and per source group (ratelimit.ts); over them a message is
// neither delivered nor acked, so the sender's own retransmission schedule slows it down. Since acks
// wait until the application takes a message, a flood is paced by the application and cannot grow
// memory, so the rates are what one session can carry (issue 11: 25,000 messages/s, twice that per
// group; they were 1,000 and 4,000) and cap the receiver's CPU and dedupe memory one peer or one
// host can claim (docs/PROTOCOL.md §8).
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { DEFAULT_LIMITS } from "../src/wire/constants.ts";
import { assertMemoryBounded, at, delivers, identities } from "./_attack_wire.ts";
import { hex, SimNet, VirtualTime } from "./_wire_sim.ts";

const test = suite("attack: message spam");

test("a peer sending as fast as its window allows for 2 s gets its rate, and another sender delivers 3 of 3", async () => {
  const time = new VirtualTime();
  // No latency: the spammer's window refills at once, far over the peer's rate.
  const net = new SimNet(time, { latency: 0 });
  const fresh = identities(13);
  const b = at(net, fresh(), { host: "127.0.0.1", port: 7000 });
  const spammer = at(net, fresh(), { host: "127.0.1.1", port: 7000 });
  const start = time.now;
  let stop = false;
  let acked = 0;
  const one = (): void => {
    if (stop) return;
    spammer.endpoint.sendMessage(b.identity.publicKey, b.address, "spam").then(() => acked++, () => {}).finally(one);
  };
  for (let i = 0; i < 64; i++) one();
  const legit: boolean[] = [];
  for (const ms of [500, 1000, 1500]) {
    await time.advance(start + ms - time.now);
    const a = at(net, fresh(), { host: "127.0.2.1", port: 7000 + ms });
    legit.push(await delivers(net, a, b, `legit at ${ms} ms`));
    a.endpoint.close();
  }
  await time.advance(start + 2000 - time.now);
  stop = true;
  const fromSpammer = b.inbox.filter((m) => hex(m.from) === hex(spammer.identity.publicKey)).length;
  const bound = 2 * DEFAULT_LIMITS.peerMessageRate + DEFAULT_LIMITS.peerMessageBurst;
  assert.equal(legit, [true, true, true]);
  assert.ok(fromSpammer <= bound, `${fromSpammer} spam messages delivered, at most ${bound}`);
  // Over the rate nothing is acked, so its own retransmission backoff slows it further.
  assert.ok(fromSpammer > DEFAULT_LIMITS.peerMessageBurst, `but it is served, not starved: ${fromSpammer}`);
  assert.is(acked, fromSpammer, "exactly the delivered ones were acked");
  assert.ok(b.endpoint.stats.dropped.peerRate > 0);
  assertMemoryBounded("spam");
  spammer.endpoint.close();
  b.endpoint.close();
});

// The group's share, at a 25th of the default rates (the ratio between peer and group kept): ten
// spammers over the default group rate would cost the simulation minutes; the test above runs the
// defaults.
const SCALED = { ...DEFAULT_LIMITS, peerMessageRate: 1000, peerMessageBurst: 2000, groupMessageRate: 2000, groupMessageBurst: 4000 };

test("ten fresh identities of one /24 spamming for 5 s share the group's rate; another sender delivers", async () => {
  const time = new VirtualTime();
  const net = new SimNet(time);
  const fresh = identities(17);
  const b = at(net, fresh(), { host: "127.0.0.1", port: 7000 }, { limits: SCALED });
  const spammers = Array.from({ length: 10 }, (_, i) => at(net, fresh(), { host: `127.0.1.${1 + i}`, port: 7000 }));
  let stop = false;
  for (const s of spammers) {
    const one = (): void => {
      if (!stop) s.endpoint.sendMessage(b.identity.publicKey, b.address, "spam").then(() => {}, () => {}).finally(one);
    };
    for (let i = 0; i < 32; i++) one();
  }
  await time.advance(2_000);
  const a = at(net, fresh(), { host: "127.0.2.1", port: 7000 });
  assert.ok(await delivers(net, a, b, "legit"));
  await time.advance(1_700_000_005_000 - time.now);
  stop = true;
  const spam = b.inbox.filter((m) => m.text === "spam").length;
  const bound = 5 * SCALED.groupMessageRate + SCALED.groupMessageBurst;
  assert.ok(spam <= bound, `${spam} spam messages delivered from one /24, at most ${bound}`);
  assert.ok(spam < 10 * 5 * SCALED.peerMessageRate, `under ten peers' worth: ${spam}`);
  assert.ok(b.endpoint.stats.dropped.peerRate > 0);
  assertMemoryBounded("group spam");
  for (const s of [...spammers, a]) s.endpoint.close();
  b.endpoint.close();
});

test.run();
