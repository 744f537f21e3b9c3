// Attack: reflection/amplification (issue 9). Before: an 85-byte `get` from a never-seen address
// got a 1,346-byte reply (15.8×), and error replies skipped the cap. Defence: replies to an address
// that never answered us and sent no valid token are at most 3× the query, errors included
// (server.ts). On loopback nobody can spoof a source, so fresh sockets stand for the spoofed victims.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { type BInput, encode } from "../src/bencode.ts";
import { mutableTarget } from "../src/crypto/record.ts";
import { nodeIdFor } from "../src/dht/bep42.ts";
import { attackMs, legitSwarm, nodeAt, RawSocket, report, rssMiB, rssPeak, sleep, text } from "./_attack_dht.ts";
import { signed } from "./_dht.ts";

const test = suite("attack: amplification");

test("minimal queries from never-seen addresses get at most 3× back, errors included; verified peers are served in full", async () => {
  const swarm = await legitSwarm(10);
  const victim = await nodeAt("127.0.0.1", { bootstrap: swarm.bootstrap, maintenance: false });
  const sockets: RawSocket[] = [];
  try {
    await victim.bootstrap();
    // The biggest thing the victim can send: a 1000-byte item, next to a full `nodes` list.
    const item = signed(new Uint8Array(32).fill(5), 1, new Uint8Array(990));
    const put = await swarm.nodes[0]!.put(item);
    assert.ok(put.stored.length > 0);
    const target = mutableTarget(item.k!);
    for (let i = 1; i <= 50; i++) sockets.push(await RawSocket.bind(`127.67.${i}.1`));
    const id = (s: RawSocket) => nodeIdFor(s.address.host)!;
    // The smallest query of each kind (no `v`, 1-byte transaction id), and broken ones.
    const queries: ((s: RawSocket, t: string) => BInput | Uint8Array)[] = [
      (s, t) => ({ t, y: "q", q: "get", a: { id: id(s), target } }),
      (s, t) => ({ t, y: "q", q: "find_node", a: { id: id(s), target } }),
      (s, t) => ({ t, y: "q", q: "get_peers", a: { id: id(s), info_hash: target } }),
      (s, t) => ({ t, y: "q", q: "ping", a: { id: id(s) } }),
      (s, t) => ({ t, y: "q", q: "put", a: { id: id(s), token: "x", v: "y" } }),
      (s, t) => ({ t, y: "q", q: "announce_peer", a: { id: id(s), info_hash: target, port: 1, token: "x" } }),
      (s, t) => ({ t, y: "q", q: "x", a: { id: id(s) } }),
      (_s, t) => encode({ t, y: "q" }),
      (_s, t) => encode({ t, y: "q", q: "get", a: {} }),
    ];
    const kinds = ["get", "find_node", "get_peers", "ping", "put, bad token", "announce_peer, bad token", "unknown method", "no a", "a without id"];
    const sizes = new Map<string, number>();
    let worst = 0, worstKind = "", sent = 0, received = 0, replies = 0, queryCount = 0;
    for (const s of sockets) {
      s.onMessage((msg, _from, size) => {
        if (text(msg["y"]) === "q") return; // a ping back: the victim checking who we are
        const asked = sizes.get(`${s.address.host}/${text(msg["t"])}`);
        if (asked === undefined) return;
        replies++;
        received += size;
        if (size / asked > worst) [worst, worstKind] = [size / asked, text(msg["t"]).slice(0, 1)];
      });
    }
    const rss0 = rssMiB();
    const peak = rssPeak();
    const end = Date.now() + attackMs(4);
    let legitGets = 0, legitFull = 0;
    for (let round = 0; Date.now() < end; round++) {
      for (const [k, make] of queries.entries()) {
        const s = sockets[(round * queries.length + k) % sockets.length]!;
        const t = `${k}${round % 10}`;
        const msg = make(s, t);
        const n = s.send(msg, victim.address());
        sizes.set(`${s.address.host}/${t}`, n);
        sent += n;
        queryCount++;
      }
      if (round % 10 === 0) {
        // A legitimate node that the victim knows (it answered the victim's lookups) reads the item in full.
        legitGets++;
        const r = await swarm.nodes[3]!.get(target).catch(() => null);
        if (r?.item && (r.item.v as Uint8Array).length === 990) legitFull++;
      }
      await sleep(20);
    }
    await sleep(200);
    const figures = {
      attackerIps: sockets.length, queriesSent: queryCount, bytesSent: sent, replies, bytesReplied: received,
      ratio: +(received / sent).toFixed(2), worstReplyRatio: +worst.toFixed(2), worstKind: kinds[+worstKind],
      oversizedNotSent: victim.stats().dropped.oversized, legitGets, legitFull, rssGrowthMiB: Math.round(peak.stop() - rss0),
    };
    report("amplification", figures);
    assert.ok(replies > 0, "the victim answered");
    assert.ok(worst <= 3, `no reply above 3× its query: ${JSON.stringify(figures)}`);
    assert.ok(legitFull === legitGets && legitGets > 0, `the legitimate reader gets the item: ${legitFull}/${legitGets}`);
    assert.ok(figures.rssGrowthMiB < 64, `RSS grew ${figures.rssGrowthMiB} MiB`);
  } finally {
    for (const s of sockets) s.close();
    victim.destroy();
    swarm.destroy();
  }
});

test.run();
