// Attack: address steering (issue 9). Before: 45 sockets on 3 IPs answering with `ip` =
// 6.6.6.6:6666 made the victim's `chat announce` publish 6.6.6.6:6666 as its own address. Defence:
// votes per /24, a minimum of voters and a clear majority (address.ts).
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { announce, lookup } from "../src/contact.ts";
import { generateIdentity } from "../src/crypto/identity.ts";
import { nodeIdFor } from "../src/dht/bep42.ts";
import { encodeAddress, encodeNodes } from "../src/dht/krpc.ts";
import { attackMs, legitSwarm, nodeAt, RawSocket, report, rssMiB, rssPeak, sleep, text } from "./_attack_dht.ts";

const test = suite("attack: address steering");
const STEER = { host: "6.6.6.6", port: 6666 };

test("45 sockets on 3 IPs saying ip = 6.6.6.6:6666 do not make the victim publish it", async () => {
  const swarm = await legitSwarm(10);
  const sockets: RawSocket[] = [];
  for (const host of ["127.66.1.1", "127.66.2.1", "127.66.3.1"]) {
    for (let i = 0; i < 15; i++) sockets.push(await RawSocket.bind(host));
  }
  const ids = sockets.map((s) => nodeIdFor(s.address.host)!);
  const victim = await nodeAt("127.0.0.1", { bootstrap: [...sockets.map((s) => s.address), ...swarm.bootstrap], maintenance: false });
  const identity = generateIdentity();
  try {
    let replies = 0;
    for (const [i, s] of sockets.entries()) {
      s.onMessage((msg, from) => {
        if (text(msg["y"]) !== "q") return;
        // Each answer names the other attacker sockets, so that a lookup meets all 45.
        const others = sockets.map((o, j) => ({ id: ids[j]!, ...o.address })).sort(() => Math.random() - 0.5).slice(0, 8);
        s.send({ ip: encodeAddress(STEER)!, t: msg["t"], y: "r", r: { id: ids[i]!, nodes: encodeNodes(others), token: "tok" } }, from);
        replies++;
      });
    }
    const rss0 = rssMiB();
    const peak = rssPeak();
    const end = Date.now() + attackMs(4);
    let samples = 0, steered = 0, announced = 0, found = 0, lookups = 0;
    const seen = victim.address();
    while (Date.now() < end) {
      await victim.bootstrap().catch(() => null);
      samples++;
      const external = victim.externalAddress();
      if (external?.host === STEER.host) steered++;
      const published = await announce(victim, identity);
      if (published.addresses.some((a) => a.host === STEER.host)) steered++;
      if (published.stored > 0) announced++;
      // A legitimate peer looks the victim up and finds where it really is.
      const r = await lookup(swarm.nodes[7]!, identity.publicKey);
      lookups++;
      if (r.found && r.addresses.some((a) => a.host === seen.host && a.port === seen.port)) found++;
      await sleep(100);
    }
    const figures = {
      attackerSockets: sockets.length, attackerReplies: replies, samples, steered, announced, lookups, foundAtTrueAddress: found,
      votes: victim.addressVotes().map((v) => `${v.address.host}:${v.address.port}=${v.voters}`),
      rssGrowthMiB: Math.round(peak.stop() - rss0),
    };
    report("address", figures);
    assert.ok(replies > 45, `the attackers were heard: ${replies} replies`);
    assert.is(steered, 0, `never steered: ${JSON.stringify(figures)}`);
    assert.equal(victim.externalAddress(), seen, "the legitimate voters' view wins");
    assert.ok(found >= lookups * 0.9 && found > 0, `the legitimate peer finds the victim at its address: ${found}/${lookups}`);
    assert.ok(figures.rssGrowthMiB < 64, `RSS grew ${figures.rssGrowthMiB} MiB`);
  } finally {
    for (const s of sockets) s.close();
    victim.destroy();
    swarm.destroy();
  }
});

test.run();
