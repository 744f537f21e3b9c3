// Attack 2 (issue 9): handshake floods. Garbage initiations at 100 pps from other ports of one IP
// (every user behind the attacker's NAT shares its rate), and garbage from thousands of spoofed
// sources. Defence: cookies under load (cookie.ts, WireGuard §5.4.7): a cookie reply costs no DH
// work and no state, and an initiation resent with the cookie proves its address, so it is rated
// per address and port, not with the flood.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { DEFAULT_LIMITS, INITIATION_MIN } from "../src/wire/constants.ts";
import { assertMemoryBounded, at, delivers, identities } from "./_attack_wire.ts";
import { Initiation } from "../src/wire/handshake.ts";
import { prng, SimNet, VirtualTime } from "./_wire_sim.ts";

const test = suite("attack: handshake floods and cookies");

/** A well-formed initiation of random bytes: Noise cannot read it, but reading it costs a DH. */
function garbage(rand: () => number): Uint8Array {
  const p = Uint8Array.from({ length: INITIATION_MIN }, () => Math.floor(rand() * 256));
  p.set([1, 0, 0, 0]);
  return p;
}

test("not under load, a plain initiation is answered with a response: no cookie, interoperable", async () => {
  const time = new VirtualTime();
  const net = new SimNet(time);
  const fresh = identities(3);
  const b = at(net, fresh(), { host: "127.0.0.1", port: 7000 });
  const a = at(net, fresh(), { host: "127.0.2.1", port: 7000 });
  net.filter = (d) => d.data[0] !== 9 && d.data[0] !== 10; // a peer that knows nothing of cookies
  assert.ok(await delivers(net, a, b, "hello"));
  assert.is(b.endpoint.stats.cookiesSent, 0);
  a.endpoint.close();
  b.endpoint.close();
});

test("100 pps of garbage from other ports of one IP for 60 s: a user behind the same IP delivers 3 of 3", async () => {
  const time = new VirtualTime();
  const net = new SimNet(time);
  const fresh = identities(4);
  const b = at(net, fresh(), { host: "127.0.0.1", port: 7000 });
  const rand = prng(9);
  // 10 garbage initiations every 100 ms, each from another port of 127.0.1.1, for 60 s.
  let sent = 0;
  const flood = () => {
    for (let k = 0; k < 10; k++, sent++) b.endpoint.receive(garbage(rand), { host: "127.0.1.1", port: 20_000 + (sent % 40_000) });
    if (sent < 6000) time.timers.setTimeout(flood, 100);
  };
  flood();
  const legit: boolean[] = [];
  let cookies = 0;
  for (const second of [10, 30, 50]) {
    await time.advance(1_700_000_000_000 + second * 1000 - time.now);
    const a = at(net, fresh(), { host: "127.0.1.1", port: 7100 + second });
    legit.push(await delivers(net, a, b, `legit at ${second} s`));
    cookies += a.endpoint.stats.cookiesReceived;
    a.endpoint.close();
  }
  await time.until(() => sent >= 6000, 60_000, 100);
  assert.equal(legit, [true, true, true]);
  const s = b.endpoint.stats;
  assert.ok(cookies >= 3, `the legitimate sender was asked for cookies: ${cookies}`);
  assert.ok(s.cookiesSent > 1000, `garbage beyond the IP's rate got cookies, not DH work: ${s.cookiesSent}`);
  assert.ok(s.dropped.decrypt <= 60 * DEFAULT_LIMITS.sourceRate + DEFAULT_LIMITS.sourceBurst, `garbage read: ${s.dropped.decrypt}`);
  assert.is(s.pendingSessions, 0);
  assert.ok(s.sources < 100, `limiter entries ${s.sources}`);
  assertMemoryBounded("same-IP flood");
  b.endpoint.close();
});

test("garbage from 24,000 spoofed sources over 60 s fills no table; a sender from another IP delivers 3 of 3", async () => {
  const time = new VirtualTime();
  const net = new SimNet(time);
  const fresh = identities(5);
  const b = at(net, fresh(), { host: "127.0.0.1", port: 7000 });
  const rand = prng(10);
  // 400 pps, each from a new spoofed source (nobody answers its cookie), for 60 s.
  let n = 0;
  let maxSources = 0;
  const flood = () => {
    for (let k = 0; k < 40; k++, n++) {
      b.endpoint.receive(garbage(rand), { host: `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`, port: 1024 + (n % 60_000) });
    }
    maxSources = Math.max(maxSources, b.endpoint.stats.sources);
    if (n < 24_000) time.timers.setTimeout(flood, 100);
  };
  flood();
  const legit: boolean[] = [];
  for (const second of [10, 30, 50]) {
    await time.advance(1_700_000_000_000 + second * 1000 - time.now);
    const a = at(net, fresh(), { host: "127.0.2.1", port: 7100 + second });
    legit.push(await delivers(net, a, b, `legit at ${second} s`));
    a.endpoint.close();
  }
  await time.until(() => n >= 24_000, 60_000, 100);
  assert.equal(legit, [true, true, true]);
  const s = b.endpoint.stats;
  assert.ok(maxSources < DEFAULT_LIMITS.maxSources / 4, `at most ${maxSources} limiter entries`);
  assert.ok(s.dropped.decrypt <= 60 * DEFAULT_LIMITS.globalRate + DEFAULT_LIMITS.globalBurst, `garbage read: ${s.dropped.decrypt}`);
  assert.ok(s.cookiesSent > 10_000, `cookies: ${s.cookiesSent}`);
  assert.equal([s.pendingSessions, s.timestamps > 4, s.peers], [0, false, 0]);
  assertMemoryBounded("spoofed flood");
  b.endpoint.close();
});

test("valid initiations from spoofed sources hold at most half the table, briefly; a real sender delivers 3 of 3", async () => {
  const time = new VirtualTime();
  const net = new SimNet(time);
  const fresh = identities(16);
  const b = at(net, fresh(), { host: "127.0.0.1", port: 7000 });
  const spoofers = Array.from({ length: 30 }, () => fresh());
  let n = 0;
  let peak = 0;
  // 300 authentic initiations a second, each from a new spoofed address that never confirms.
  const flood = () => {
    for (const m of spoofers) {
      n++;
      const from = { host: `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`, port: 1024 };
      b.endpoint.receive(new Initiation(m, b.identity.x25519.publicKey, n, time.now).packet, from);
    }
    peak = Math.max(peak, b.endpoint.stats.sessions);
    if (time.now < 1_700_000_030_000) time.timers.setTimeout(flood, 100);
  };
  flood();
  const legit: boolean[] = [];
  for (const second of [5, 15, 25]) {
    await time.advance(1_700_000_000_000 + second * 1000 - time.now);
    const a = at(net, fresh(), { host: "127.0.2.1", port: 7100 + second });
    legit.push(await delivers(net, a, b, `legit at ${second} s`));
    a.endpoint.close();
  }
  await time.advance(1_700_000_045_000 - time.now);
  assert.equal(legit, [true, true, true]);
  assert.ok(peak <= DEFAULT_LIMITS.maxSessions / 2 + 1, `at most ${peak} sessions`);
  assert.equal([b.endpoint.stats.sessions, b.endpoint.stats.pendingSessions], [0, 0], "all gone 10 s after");
  assertMemoryBounded("spoofed handshakes");
  b.endpoint.close();
});

test("a forged or stale cookie proves nothing; a cookie reply not bound to our initiation is dropped", async () => {
  const time = new VirtualTime();
  const net = new SimNet(time);
  const fresh = identities(6);
  const b = at(net, fresh(), { host: "127.0.0.1", port: 7000 }, { limits: { globalBurst: 4, globalRate: 1 } });
  const a = at(net, fresh(), { host: "127.0.2.1", port: 7000 });
  for (let i = 0; i < 3; i++) b.endpoint.receive(garbage(prng(i)), { host: "127.0.3.1", port: 1 }); // under load
  assert.ok(await delivers(net, a, b, "through the cookie"));
  assert.is(a.endpoint.stats.cookiesReceived, 1);
  const type10 = net.log.find((d) => d.data[0] === 10)!.data;
  // The same proof from another address, or with a flipped MAC: a cookie reply again, no DH work.
  const before = b.endpoint.stats;
  b.endpoint.receive(type10, { host: "127.0.2.1", port: 7001 });
  const bad = type10.slice();
  bad[bad.length - 1]! ^= 1;
  b.endpoint.receive(bad, a.address);
  await time.advance(10);
  const after = b.endpoint.stats;
  assert.is(after.cookiesSent, before.cookiesSent + 2);
  assert.is(after.handshakesAnswered, before.handshakesAnswered);
  // A cookie reply for an attempt of A's, but sealed for another initiation: dropped.
  const reply = net.log.find((d) => d.data[0] === 9)!.data.slice();
  const c = at(net, fresh(), { host: "127.0.2.2", port: 7000 });
  void c.endpoint.sendMessage(b.identity.publicKey, { host: "127.0.0.9", port: 9 }, "nowhere").catch(() => {});
  const attempt = c.endpoint._initiations()[0]!;
  new DataView(reply.buffer).setUint32(4, attempt.index, true);
  c.endpoint.receive(reply, b.address);
  assert.is(c.endpoint.stats.dropped.cookie, 1);
  assert.is(c.endpoint.stats.cookiesReceived, 0);
  for (const e of [a, b, c]) e.endpoint.close();
});

test.run();
