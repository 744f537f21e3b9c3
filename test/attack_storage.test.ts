// Attack: storage exhaustion (issue 9). Before: 2,000 immutable items whose 1000-byte values are
// lists of empty strings took RSS from 64 to 204 MB (the decoded value was kept), and items
// ground to lie near the node's id evicted a legitimate item. Defence: items kept as bytes, real
// memory counted, eviction by fewest sources then the busiest source (store.ts). The store is
// 1 MiB here (4 MiB by default) so that eviction is reached early however slow the machine.
import { sha1 } from "@noble/hashes/legacy.js";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { type BDict, Bencoded } from "../src/bencode.ts";
import { mutableTarget } from "../src/crypto/record.ts";
import { GET_PAD, LIMITS } from "../src/dht/constants.ts";
import { attackMs, nodeAt, RawSocket, report, rssMiB, rssPeak, sleep, text } from "./_attack_dht.ts";
import { signed } from "./_dht.ts";

const test = suite("attack: storage");

/**
 * A 1000-byte bencoded list of 494 empty strings after an 8-digit nonce, the nonce varied until
 * the item's target (SHA-1 of the bytes) shares its first byte with `near`.
 */
function groundValue(n: number, near: number): Bencoded {
  const raw = new TextEncoder().encode(`l8:00000000${"0:".repeat(494)}e`);
  for (let nonce = n * 4096; ; nonce++) {
    // The nonce's 8 digits, written in place (no allocation per try).
    for (let i = 0, x = nonce % 1e8; i < 8; i++, x = Math.floor(x / 10)) raw[10 - i] = 0x30 + (x % 10);
    if (sha1(raw)[0] === near) return new Bencoded(raw.slice());
  }
}

test("a flood of 1000-byte lists of empty strings, ground near the victim's id: memory bounded, the legitimate item kept", async () => {
  // 1 MiB of storage (~460 such items): eviction starts within the first second even on a slow run.
  const limits = { ...LIMITS, itemBytes: 1 << 20 };
  const victim = await nodeAt("127.0.0.1", { limits });
  const owner = await RawSocket.bind("127.1.1.1");
  const reader = await RawSocket.bind("127.1.2.1");
  const attackers: RawSocket[] = [];
  for (let i = 1; i <= 100; i++) attackers.push(await RawSocket.bind(`127.66.${i}.1`));
  const tokens = new Map<RawSocket, Uint8Array>();
  const served: { t: string; ok: boolean }[] = [];
  try {
    // The legitimate item: a signed record, put once by its owner.
    const item = signed(new Uint8Array(32).fill(9), 1, new Uint8Array(200));
    const target = mutableTarget(item.k!);
    for (const s of [owner, ...attackers]) {
      s.onMessage((msg) => {
        const r = msg["r"] as BDict | undefined;
        if (r?.["token"] instanceof Uint8Array) tokens.set(s, r["token"]);
      });
      s.send({ t: "tk", y: "q", q: "get", a: { id: victim.id, target } }, victim.address());
    }
    await sleep(300);
    owner.send({ t: "pt", y: "q", q: "put", a: { id: victim.id, token: tokens.get(owner)!, ...item } }, victim.address());
    await sleep(100);
    reader.onMessage((msg) => {
      const v = (msg["r"] as BDict | undefined)?.["v"];
      if (text(msg["t"]) === "rd") served.push({ t: text(msg["t"]), ok: v instanceof Uint8Array && v.length === 200 });
    });
    const rss0 = rssMiB();
    const peak = rssPeak();
    let puts = 0, n = 0;
    const values = Array.from({ length: 64 }, () => groundValue(n++, victim.id[0]!));
    const end = Date.now() + attackMs(4);
    // 1,000 puts a second (1 MB/s), paced so that the victim's socket buffer does not simply
    // overflow (that would drop the reader's packets too, whatever the node does with them).
    // On a slow machine, go on past `end` until the store is full (at most 45 s in all).
    const cap = Date.now() + Math.max(attackMs(4), 45_000);
    const full = () => victim.stats().evicted + victim.stats().refusedPuts > 0;
    for (let tick = 0; Date.now() < cap && (Date.now() < end || !full()); tick++) {
      for (let i = 0; i < 10; i++) {
        const s = attackers[puts % attackers.length]!;
        // Above the write rate (2/s per IP after a burst of 20): the limiter drops the excess.
        s.send({ t: "pa", y: "q", q: "put", a: { id: victim.id, token: tokens.get(s)!, v: values[puts++ % values.length]! } }, victim.address());
        if (puts % values.length === 0) values.splice(0, values.length, ...Array.from({ length: 64 }, () => groundValue(n++, victim.id[0]!)));
      }
      // A padded get, as our client sends (server.ts: 3× a padded query holds the item).
      if (tick % 5 === 0) reader.send({ t: "rd", y: "q", q: "get", a: { id: victim.id, target, pad: GET_PAD } }, victim.address());
      await sleep(10);
    }
    await sleep(200);
    const stats = victim.stats();
    const figures = {
      attackerIps: attackers.length, puts, stored: stats.items, storedBytes: stats.storedBytes, limitBytes: limits.itemBytes,
      evicted: stats.evicted, refused: stats.refusedPuts, limited: stats.dropped.limited, legitGets: served.length, legitServed: served.filter((s) => s.ok).length,
      rssGrowthMiB: Math.round(peak.stop() - rss0),
    };
    report("storage", figures);
    assert.ok(stats.evicted + stats.refusedPuts > 0, `the flood filled the store: ${JSON.stringify(figures)}`);
    assert.ok(stats.storedBytes <= limits.itemBytes, `memory counted and bounded: ${stats.storedBytes}`);
    assert.ok(served.length > 0 && served.every((s) => s.ok), `the legitimate item is served throughout: ${figures.legitServed}/${figures.legitGets}`);
    assert.ok(figures.rssGrowthMiB < 64, `RSS grew ${figures.rssGrowthMiB} MiB`);
  } finally {
    for (const s of [owner, reader, ...attackers]) s.close();
    victim.destroy();
  }
});

test.run();
