// Attack: routing-table poisoning (issue 9). Before: from ONE ip:port, claiming ids near the
// victim's, the table went from 9 to 192 contacts, 183 of them the attacker's, and find_node
// answers near the victim's id pointed at the attacker. Defence: one contact per IP, 2 per /24 per
// bucket, BEP 42 ids (table.ts).
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { nodeIdFor } from "../src/dht/bep42.ts";
import { decodeNodes, encodeNodes } from "../src/dht/krpc.ts";
import { attackMs, idNear, legitSwarm, nodeAt, RawSocket, report, rssMiB, rssPeak, sleep, text } from "./_attack_dht.ts";

const test = suite("attack: routing-table poisoning");

test("one IP claiming ids near the victim gets at most one contact; find_node answers stay legitimate", async () => {
  const swarm = await legitSwarm(12);
  const victim = await nodeAt("127.0.0.1", { bootstrap: swarm.bootstrap, maintenance: false });
  // Two attackers, 4 ports each: one claims ids near the victim (not BEP 42 ids for its IP), the
  // other valid BEP 42 ids for its IP (as many as it likes).
  const hosts = { near: "127.66.0.1", valid: "127.66.0.2" };
  const sockets = [
    ...(await Promise.all([0, 1, 2, 3].map(() => RawSocket.bind(hosts.near)))),
    ...(await Promise.all([0, 1, 2, 3].map(() => RawSocket.bind(hosts.valid)))),
  ];
  const observer = await RawSocket.bind("127.2.0.1");
  const timers: ReturnType<typeof setInterval>[] = [];
  try {
    await victim.bootstrap();
    const rss0 = rssMiB();
    const peak = rssPeak();
    let attackerQueries = 0;
    const claim = (host: string) => (host === hosts.near ? idNear(victim.id, 32) : nodeIdFor(host)!);
    for (const s of sockets) {
      let claimed = claim(s.address.host);
      s.onMessage((msg, from) => {
        if (text(msg["y"]) !== "q") return;
        // Whatever the victim asks: our claimed id, and 8 "nodes" near its id, all at our sockets.
        const fake = sockets.map((o) => ({ id: claim(o.address.host), ...o.address }));
        s.send({ t: msg["t"], y: "r", r: { id: claimed, nodes: encodeNodes(fake.slice(0, 8)) } }, from);
      });
      // Queries from ever-new ids, so that the victim pings each one back (and it answers).
      timers.push(setInterval(() => {
        claimed = claim(s.address.host);
        s.send({ t: "aa", y: "q", q: "ping", a: { id: claimed } }, victim.address());
        attackerQueries++;
      }, 20));
    }
    const end = Date.now() + attackMs(4);
    let maxNear = 0, maxValid = 0, answers = 0, attackerInAnswers = 0, maxPerAnswer = 0, pings = 0, pongs = 0;
    let lookups = 0;
    observer.onMessage((msg) => {
      const nodes = (msg["r"] as { nodes?: Uint8Array } | undefined)?.nodes;
      if (!(nodes instanceof Uint8Array)) return;
      answers++;
      const bad = decodeNodes(nodes)!.filter((n) => n.host.startsWith("127.66.")).length;
      attackerInAnswers += bad;
      maxPerAnswer = Math.max(maxPerAnswer, bad);
    });
    while (Date.now() < end) {
      // The victim keeps looking around (as its maintenance would), meeting the attackers' lists.
      void victim.findNode(idNear(victim.id, 8)).then(() => lookups++, () => {});
      observer.send({ t: "ob", y: "q", q: "find_node", a: { id: nodeIdFor("127.2.0.1")!, target: victim.id } }, victim.address());
      pings++;
      if (await swarm.nodes[5]!.ping(victim.address()).then(() => true, () => false)) pongs++;
      const all = victim.table.all();
      maxNear = Math.max(maxNear, all.filter((c) => c.host === hosts.near).length);
      maxValid = Math.max(maxValid, all.filter((c) => c.host === hosts.valid).length);
      await sleep(200);
    }
    const figures = {
      attackerQueries, tableSize: victim.table.size, refused: victim.table.refused, maxNear, maxValid,
      findNodeAnswers: answers, attackerNodesInAnswers: attackerInAnswers, legitPings: pings, legitAnswered: pongs, lookups,
      rssGrowthMiB: Math.round(peak.stop() - rss0),
    };
    report("table", figures);
    assert.is(maxNear, 0, "ids not valid for the IP never enter");
    assert.ok(maxValid <= 1, `one contact per IP: ${maxValid}`);
    assert.ok(answers > 0 && maxPerAnswer <= 1, `find_node answers hold at most one attacker node each: ${JSON.stringify(figures)}`);
    assert.ok(pongs >= pings * 0.9, `the legitimate peer is served: ${pongs}/${pings}`);
    assert.ok(figures.rssGrowthMiB < 64, `RSS grew ${figures.rssGrowthMiB} MiB`);
  } finally {
    for (const timer of timers) clearInterval(timer);
    for (const s of sockets) s.close();
    observer.close();
    victim.destroy();
    swarm.destroy();
  }
});

test.run();
