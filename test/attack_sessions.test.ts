// Attack 1 (issue 9): session lockout. One IP opens a session with a fresh identity every 51 ms
// (under the 20/s initiation rate) and confirms each with one message, for 53 s; then many IPs of a
// few /24s fill the whole table. Defence: caps per source IP and per /24, and a full table makes a
// newcomer evict the least recently active session of the heaviest group (fairness.ts).
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { DEFAULT_LIMITS } from "../src/wire/constants.ts";
import { assertMemoryBounded, at, type At, delivers, identities } from "./_attack_wire.ts";
import { SimNet, track, VirtualTime } from "./_wire_sim.ts";

const test = suite("attack: session lockout");

test("one IP, a fresh identity every 51 ms for 53 s: it holds 32 sessions, a sender from another IP delivers 3 of 3", async () => {
  const time = new VirtualTime();
  const net = new SimNet(time);
  const fresh = identities(1);
  const b = at(net, fresh(), { host: "127.0.0.1", port: 7000 });
  const attackers: At[] = [];
  const results: { done: boolean; value?: unknown }[] = [];
  const legit: boolean[] = [];
  const sendLegit = async (n: number) => {
    // As `chat send` does: a new process, so a new endpoint and a new session each time.
    const a = at(net, fresh(), { host: "127.0.2.1", port: 7100 + n });
    legit.push(await delivers(net, a, b, `legit ${n}`));
    a.endpoint.close();
    await time.advance(100); // its close frame ends B's side
  };
  for (let i = 0; time.now < 1_700_000_053_000; i++) {
    const m = at(net, fresh(), { host: "127.0.1.1", port: 10_000 + i });
    attackers.push(m);
    results.push(track(m.endpoint.sendMessage(b.identity.publicKey, b.address, "confirm")));
    await time.advance(51);
    if (i === 400) await sendLegit(1); // 20 s in
    assert.ok(b.endpoint.stats.sessions <= DEFAULT_LIMITS.maxSessionsPerSource + 2, `at ${i}: ${b.endpoint.stats.sessions}`);
  }
  await sendLegit(2); // as the attack stops
  await time.advance(55_000);
  await sendLegit(3); // 55 s after it stopped
  assert.equal(legit, [true, true, true]);
  const s = b.endpoint.stats;
  assert.ok(attackers.length > 1000, `${attackers.length} attacker identities`);
  assert.ok(results.filter((r) => r.value).length > 1000, "the attacker's sessions were real");
  assert.ok(s.evictions > 900, `its own sessions made way for its new ones: ${s.evictions}`);
  assert.ok(s.sessions <= DEFAULT_LIMITS.maxSessionsPerSource, `sessions now ${s.sessions}`);
  assert.is(s.dropped.internal, 0);
  assertMemoryBounded("lockout");
  for (const m of attackers) m.endpoint.close();
  b.endpoint.close();
});

test("many IPs of four /24s fill the table: a newcomer from a fifth evicts an idle session of the heaviest", async () => {
  const limits = { maxSessions: 64, maxSessionsPerSource: 8, maxSessionsPerGroup: 20 };
  const time = new VirtualTime();
  const net = new SimNet(time);
  const fresh = identities(2);
  const b = at(net, fresh(), { host: "127.0.0.1", port: 7000 }, { limits });
  const attackers: At[] = [];
  // 3 groups of 20 and one of 4: 64 sessions, the table is full; group 127.0.1.x is the heaviest
  // and its first sessions are the least recently active.
  for (const [group, count] of [[1, 20], [2, 20], [3, 20], [4, 4]] as const) {
    for (let i = 0; i < count; i++) {
      const m = at(net, fresh(), { host: `127.0.${group}.${1 + (i % 5)}`, port: 10_000 + i });
      attackers.push(m);
      assert.ok(await delivers(net, m, b, "hold"), `attacker ${group}.${i}`);
    }
  }
  assert.is(b.endpoint.stats.sessions, 64);
  const a = at(net, fresh(), { host: "127.0.9.1", port: 7100 });
  assert.ok(await delivers(net, a, b, "let me in"));
  const s = b.endpoint.stats;
  assert.is(s.sessions, 64);
  assert.is(s.evictions, 1);
  assert.is(attackers[0]!.endpoint.hasSession(b.identity.publicKey), false, "the heaviest group's least recent went");
  assert.is(attackers[20]!.endpoint.hasSession(b.identity.publicKey), true, "the others stay");
  // A 21st from a full group replaces its own group's least recent, not someone else's.
  const more = at(net, fresh(), { host: "127.0.2.9", port: 10_100 });
  assert.ok(await delivers(net, more, b, "one more"));
  assert.is(attackers[20]!.endpoint.hasSession(b.identity.publicKey), false);
  assert.is(a.endpoint.hasSession(b.identity.publicKey), true);
  assertMemoryBounded("full table");
  for (const m of [...attackers, a, more]) m.endpoint.close();
  b.endpoint.close();
});

test.run();
