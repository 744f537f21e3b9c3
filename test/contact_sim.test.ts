// The contact layer (PROTOCOL §4) on the simulated network: announce and lookup across periods and
// clock skew, what the DHT's datagrams reveal, and lying nodes. Wall time is injected, so a test
// can stand at any minute of any period; the network runs on virtual time.
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { bytesToHex, randomBytes } from "@noble/hashes/utils.js";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import {
  Announcer, announce, announcePeriods, type AnnounceResult, formatAddress, lookup, type LookupResult, ownAddresses,
} from "../src/contact.ts";
import { blindIdentity, blindPublicKey, PERIOD, signExpanded } from "../src/crypto/blind.ts";
import { encodeZBase32 } from "../src/crypto/zbase32.ts";
import { generateIdentity, type Identity, x25519FromEd25519Public } from "../src/crypto/identity.ts";
import {
  type Address, bencodeBytes, bep44SignedBuffer, encodeCompactAddress, recordKey, recordLookup, type RecordItem, sealRecord,
} from "../src/crypto/record.ts";
import { type BDict, decode, encode, isBytes } from "../src/bencode.ts";
import { encodeNodes, encodeResponse, parseMessage } from "../src/dht/krpc.ts";
import { DhtNode } from "../src/dht/node.ts";
import { compareDistance } from "../src/dht/table.ts";
import { createSimnet, type Simnet } from "../src/dht/testnet.ts";
import type { Address as NetAddress, Clock } from "../src/dht/transport.ts";
import { ChatError } from "../src/errors.ts";

const test = suite("contact: announce and lookup on the simulator");

/** A period in 2027; `wall(p, minutes)` is unix ms at that minute of period P + p. */
const P = 500_000;
const wall = (p: number, minutes: number) => ((P + p) * PERIOD + minutes * 60) * 1000;
const ADDRESS: Address = { host: "203.0.113.77", port: 41641 };

let sim: Simnet;
let announcer: DhtNode;
let looker: DhtNode;
test.before(() => {
  sim = createSimnet(256, { seed: 4 });
  announcer = sim.nodes[0]!;
  looker = sim.nodes[1]!;
});
test.after(() => sim.destroy());

const run = <T>(p: Promise<T>): Promise<T> => sim.net.clock.until(p);
/** A wall clock that reads `ms` now and moves on with virtual time. */
function clockAt(ms: number): () => number {
  const start = sim.net.clock.now();
  return () => ms + sim.net.clock.now() - start;
}
const announceAt = (identity: Identity, ms: number, addresses: Address[] = [ADDRESS]) =>
  run(announce(announcer, identity, { addresses, now: clockAt(ms) }));
const lookupAt = (identity: Identity, ms: number) => run(lookup(looker, identity.publicKey, { now: clockAt(ms) }));

function assertFound(r: LookupResult, addresses: Address[], period: number): asserts r is Extract<LookupResult, { found: true }> {
  assert.ok(r.found, `found (periods ${r.periods.join(", ")}, reasons ${JSON.stringify(r.reasons)})`);
  assert.equal(r.addresses, addresses);
  assert.is(r.period, period);
}

// ---- round trip, seq ----------------------------------------------------------------------------

test("announce, then lookup by public key alone", async () => {
  const me = generateIdentity();
  const published = await announceAt(me, wall(0, 20));
  assert.is(published.period, P);
  assert.is(published.stored, 8, "the 8 closest nodes stored it");
  assert.equal(published.periods.map((x) => x.period), [P]);
  assert.is(published.seq, wall(0, 20) / 1000, "seq = unix seconds at publication");
  assert.is(published.target, bytesToHex(recordLookup(me.publicKey, P).target), "target = SHA-1(A'_p)");
  const found = await lookupAt(me, wall(0, 21));
  assertFound(found, [ADDRESS], P);
  assert.is(found.announcedAt, wall(0, 20) / 1000);
  assert.is(found.seq, published.seq);
  assert.equal(found.periods, [P], "found in p: p − 1 and p + 1 are not queried");
  assert.ok(found.queried >= 8);
  assert.is(found.rejected, 0);
});

test("a public key that never announced is not found, after trying p, p − 1 and p + 1", async () => {
  const r = await lookupAt(generateIdentity(), wall(0, 30));
  assert.is(r.found, false);
  assert.equal(r.periods, [P, P - 1, P + 1]);
});

test("seq grows strictly under one A', within one second and when the clock steps back", async () => {
  const me = generateIdentity();
  const first = await announceAt(me, wall(0, 10));
  const again = await announceAt(me, wall(0, 10), [{ host: "192.0.2.2", port: 2 }]);
  const back = await announceAt(me, wall(0, 9), [{ host: "192.0.2.3", port: 3 }]);
  assert.equal([again.seq, back.seq], [first.seq + 1, first.seq + 2]);
  for (const r of [first, again, back]) assert.is(r.stored, 8, "no node refused the newer seq");
  assertFound(await lookupAt(me, wall(0, 11)), [{ host: "192.0.2.3", port: 3 }], P);
});

test("a record left by an earlier run with a clock ahead is superseded, not fought", async () => {
  const me = generateIdentity();
  // Another process (whose memory we do not share) published with seq one hour ahead.
  const ahead = wall(0, 70) / 1000;
  const { target, ...item } = sealRecord(me, P, { addresses: [{ host: "192.0.2.9", port: 9 }], t: wall(0, 5) / 1000 }, ahead);
  assert.is((await run(announcer.put(item))).stored.length, 8);
  const r = await announceAt(me, wall(0, 10));
  assert.is(r.seq, ahead + 1, "one above the seq found on the DHT");
  assert.is(r.stored, 8);
  assertFound(await lookupAt(me, wall(0, 11)), [ADDRESS], P);
});

test("a lookup that no node answers is a network error (exit 3), not a miss", async () => {
  const lonely = new DhtNode({
    transport: sim.net.transport(), clock: sim.net.clock, maintenance: false, bootstrap: [{ host: "10.254.0.1", port: 6881 }],
  });
  try {
    // The rejection is caught before `until` sees it: until() attaches no handler while it runs timers.
    const error = await run(lookup(lonely, generateIdentity().publicKey, { now: clockAt(wall(0, 1)) }).then(() => null, (e: unknown) => e));
    assert.instance(error, ChatError);
    assert.is((error as ChatError).exitCode, 3);
  } finally {
    lonely.destroy();
  }
});

// ---- periods and clock skew ---------------------------------------------------------------------

test("the last 10 minutes of a period also publish under p + 1", async () => {
  assert.equal(announcePeriods(wall(0, 49) / 1000 + 59), [P]);
  assert.equal(announcePeriods(wall(0, 50) / 1000), [P, P + 1]);
  const me = generateIdentity();
  const r = await announceAt(me, wall(0, 52));
  assert.equal(r.periods.map((x) => x.period), [P, P + 1]);
  assert.ok(r.periods.every((x) => x.stored === 8));
  assert.is.not(r.periods[0]!.target, r.periods[1]!.target);
  // After the boundary, a looker finds the new period's record at its first query.
  const next = await lookupAt(me, wall(1, 5));
  assertFound(next, [ADDRESS], P + 1);
  assert.equal(next.periods, [P + 1]);
});

test("a record from early in the previous period is found in p − 1", async () => {
  const me = generateIdentity();
  await announceAt(me, wall(0, 20));
  const r = await lookupAt(me, wall(1, 10));
  assertFound(r, [ADDRESS], P);
  assert.equal(r.periods, [P + 1, P]);
});

test("±5 minutes of clock skew across a period boundary", async () => {
  // Announcer just before the boundary (p and p + 1 published), looker 5 minutes ahead: in p + 1.
  const late = generateIdentity();
  await announceAt(late, wall(0, 58));
  assertFound(await lookupAt(late, wall(0, 63)), [ADDRESS], P + 1);
  // Announcer just after the boundary (p + 1 only), looker 5 minutes behind, still in p:
  // p and p − 1 hold nothing, p + 1 does, and t = now + 300 s is still accepted.
  const early = generateIdentity();
  await announceAt(early, wall(1, 2));
  const behind = await lookupAt(early, wall(0, 57));
  assertFound(behind, [ADDRESS], P + 1);
  assert.equal(behind.periods, [P, P - 1, P + 1]);
  // A looker 6 minutes behind sees a record from its future: dropped, never returned.
  const tooFar = await lookupAt(early, wall(0, 56));
  assert.is(tooFar.found, false);
  assert.ok((tooFar.reasons.future ?? 0) >= 1, JSON.stringify(tooFar.reasons));
  // Mid-period, either direction.
  const mid = generateIdentity();
  await announceAt(mid, wall(0, 30));
  assertFound(await lookupAt(mid, wall(0, 35)), [ADDRESS], P);
  assertFound(await lookupAt(mid, wall(0, 25)), [ADDRESS], P);
});

test("a record is found until the end of the next period, then no period queried holds it", async () => {
  const me = generateIdentity();
  await announceAt(me, wall(0, 5));
  assertFound(await lookupAt(me, wall(1, 59)), [ADDRESS], P);
  // At P + 2 the looker queries P + 2, P + 1, P + 3: P is not among them any more.
  assert.is((await lookupAt(me, wall(2, 6))).found, false);
});

// ---- privacy ------------------------------------------------------------------------------------

/** Every datagram sent on the simulated network while `work` runs. */
async function capture<T>(work: () => Promise<T>): Promise<{ result: T; datagrams: Uint8Array[] }> {
  const net = sim.net;
  const send = net._send;
  const datagrams: Uint8Array[] = [];
  net._send = (buf, from, to) => {
    datagrams.push(buf.slice());
    send.call(net, buf, from, to);
  };
  try {
    return { result: await work(), datagrams };
  } finally {
    net._send = send;
  }
}

const ascii = (s: string) => new TextEncoder().encode(s);
const base64 = (b: Uint8Array) => Buffer.from(b).toString("base64");

function indexOf(hay: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** Every `size`-byte window of `bytes`. */
const windows = (bytes: Uint8Array, size: number) => Array.from({ length: bytes.length - size + 1 }, (_, i) => bytes.subarray(i, i + size));

/**
 * What must never be on the wire: any 8 consecutive bytes of the Ed25519 key or of its X25519
 * form, any 16 consecutive characters of their hex (both cases), z-base-32 and base64 texts; the
 * announced address as compact bytes, as its 4 IP bytes, and as text.
 */
function secrets(identity: Identity, address: Address): [string, Uint8Array][] {
  const out: [string, Uint8Array][] = [];
  for (const [name, key] of [["ed25519", identity.publicKey], ["x25519", x25519FromEd25519Public(identity.publicKey)]] as const) {
    for (const w of windows(key, 8)) out.push([`${name} bytes`, w]);
    const texts = {
      hex: bytesToHex(key), HEX: bytesToHex(key).toUpperCase(), zbase32: encodeZBase32(key),
      base64: base64(key), base64url: Buffer.from(key).toString("base64url"),
    };
    for (const [form, text] of Object.entries(texts)) for (const w of windows(ascii(text), 16)) out.push([`${name} ${form}`, w]);
  }
  const compact = encodeCompactAddress(address);
  out.push(["compact address", compact], ["address IP bytes", compact.subarray(0, 4)]);
  out.push(["address text", ascii(`${address.host}:${address.port}`)], ["address IP text", ascii(address.host)]);
  return out;
}

function assertNothingLeaks(datagrams: Uint8Array[], identity: Identity, address: Address, what: string): void {
  assert.ok(datagrams.length > 10, `${what}: captured ${datagrams.length} datagrams`);
  const all = secrets(identity, address);
  for (const d of datagrams) {
    for (const [name, needle] of all) {
      if (indexOf(d, needle) >= 0) assert.unreachable(`${what}: a datagram carries the ${name}: ${bytesToHex(d)}`);
    }
  }
}

test("no datagram of an announce or a lookup carries the identity key or the address", async () => {
  const me = generateIdentity();
  // In the overlap window, so that the announce publishes two records.
  const announced = await capture(() => announceAt(me, wall(0, 55)));
  assert.is(announced.result.periods.length, 2);
  const puts = announced.datagrams.map(parseMessage).filter((m) => m?.y === "q" && m.q === "put");
  assert.ok(puts.length >= 16, "the capture holds the puts themselves");
  assertNothingLeaks(announced.datagrams, me, ADDRESS, "announce");
  const looked = await capture(() => lookupAt(me, wall(0, 56)));
  assertFound(looked.result, [ADDRESS], P);
  const answers = looked.datagrams.map(parseMessage).filter((m) => m?.y === "r" && m.value !== undefined);
  assert.ok(answers.length >= 1, "the capture holds the records served");
  assertNothingLeaks(looked.datagrams, me, ADDRESS, "lookup");
});

/** The `put` queries among `datagrams`, as their `a` dicts. */
const putsIn = (datagrams: Uint8Array[]): BDict[] =>
  datagrams.map(parseMessage).flatMap((m) => (m?.y === "q" && m.q === "put" ? [{ ...m.a, v: m.value && decode(m.value) }] : []));

test("two periods' records of one identity share nothing an observer could link", async () => {
  const me = generateIdentity();
  const [first, second] = [
    await capture(() => announceAt(me, wall(0, 20))),
    await capture(() => announceAt(me, wall(1, 20))),
  ];
  const a = putsIn(first.datagrams)[0]!;
  const b = putsIn(second.datagrams)[0]!;
  assert.is.not(first.result.target, second.result.target, "targets differ");
  for (const field of ["k", "v", "sig"] as const) {
    const x = a[field], y = b[field];
    assert.ok(isBytes(x) && isBytes(y));
    assert.is.not(bytesToHex(x), bytesToHex(y), `${field} differs`);
  }
  assert.is.not(a["seq"], b["seq"]);
  // Not even 8 bytes in common anywhere in k, v and sig (as random strings would be).
  const bytesOf = (d: BDict) => encode([d["k"]!, d["v"]!, d["sig"]!]);
  const other = bytesOf(b);
  for (const w of windows(bytesOf(a), 8)) assert.is(indexOf(other, w), -1, `shared bytes ${bytesToHex(w)}`);
  // Only the record's length is alike: one address either way.
  assert.is((a["v"] as Uint8Array).length, (b["v"] as Uint8Array).length);
});

// ---- lying nodes --------------------------------------------------------------------------------

/** The `n` simulated nodes closest to `target` (neither the announcer nor the looker). */
function closestNodes(target: Uint8Array, n: number): DhtNode[] {
  const byHost = new Map(sim.nodes.map((node) => [node.address().host, node]));
  return [...sim.sorted]
    .sort((a, b) => compareDistance(a.id, b.id, target))
    .map((c) => byHost.get(c.host)!)
    .filter((node) => node !== announcer && node !== looker)
    .slice(0, n);
}

/**
 * Turns `node` into a liar for `target`: it stores what it is given like an honest node, but
 * answers every `get` of that target with `forge()` (a record dict: k, seq, sig, v).
 */
function lie(node: DhtNode, target: Uint8Array, forge: () => BDict): () => void {
  const honest = (buf: Uint8Array, from: NetAddress) => node.handle(buf, from);
  node.transport.onMessage((buf, from) => {
    const m = parseMessage(buf);
    const t = m?.y === "q" && m.q === "get" ? m.a["target"] : undefined;
    if (m?.y !== "q" || !isBytes(t) || bytesToHex(t) !== bytesToHex(target)) return honest(buf, from);
    const r: BDict = { id: node.id, nodes: encodeNodes(node.table.closest(target, 8)), token: randomBytes(8), ...forge() };
    node.transport.send(encodeResponse(m.t, r, from), from);
  });
  return () => node.transport.onMessage(honest);
}

/** An item signed under A'_p by the owner, whatever `v` is (a buggy or compromised announcer). */
function ownerSigned(identity: Identity, p: number, v: Uint8Array, seq: number): BDict {
  const key = blindIdentity(identity, p);
  return { k: key.publicKey, seq, v, sig: signExpanded(key, bep44SignedBuffer({ seq, v: bencodeBytes(v) })) };
}

/** `plaintext` encrypted as a record of `identity` for period p (PROTOCOL §4). */
function encryptRecord(identity: Identity, p: number, plaintext: Uint8Array): Uint8Array {
  const nonce = randomBytes(12);
  const sealed = chacha20poly1305(recordKey(identity.publicKey, p), nonce, blindPublicKey(identity.publicKey, p)).encrypt(plaintext);
  return new Uint8Array([...nonce, ...sealed]);
}

const asDict = ({ target, ...item }: RecordItem & { target?: Uint8Array }): BDict => ({ ...item });
const EVIL: Address = { host: "198.51.100.66", port: 666 };

test("lying nodes never make lookup return their records, and the genuine one is still found", async () => {
  const me = generateIdentity();
  const now = wall(0, 30);
  const genuine = await announceAt(me, now);
  const t = now / 1000;
  const high = genuine.seq + 1000;
  const stranger = generateIdentity();
  const lies: Record<string, () => BDict> = {
    "forged signature": () => ({ k: blindPublicKey(me.publicKey, P), seq: high, v: randomBytes(60), sig: randomBytes(64) }),
    "another key's record": () => asDict(sealRecord(stranger, P, { addresses: [EVIL], t }, high)),
    "tampered value": () => {
      const item = sealRecord(me, P, { addresses: [ADDRESS], t }, high);
      item.v[20]! ^= 1;
      return asDict(item);
    },
    "tampered seq": () => ({ ...asDict(sealRecord(me, P, { addresses: [EVIL], t }, genuine.seq - 5)), seq: high }),
    oversized: () => ({ ...ownerSigned(me, P, randomBytes(1100), high) }),
    "other period's record": () => asDict(sealRecord(me, P - 1, { addresses: [EVIL], t }, high)),
    "replayed older record": () => asDict(sealRecord(me, P, { addresses: [EVIL], t: t - 600 }, genuine.seq - 600)),
    "stale t": () => asDict(sealRecord(me, P, { addresses: [EVIL], t: t - 3 * PERIOD }, high)),
    "future t": () => asDict(sealRecord(me, P, { addresses: [EVIL], t: t + PERIOD }, high)),
    "wrong encryption key": () => ownerSigned(me, P, encryptRecord(stranger, P, encode({ a: [encodeCompactAddress(EVIL)], t })), high),
    "not a record": () => ownerSigned(me, P, encryptRecord(me, P, encode({ a: "nope", t })), high),
  };
  const target = recordLookup(me.publicKey, P).target;
  const liars = closestNodes(target, 3);
  for (const [name, forge] of Object.entries(lies)) {
    const restore = liars.map((node) => lie(node, target, forge));
    try {
      const r = await lookupAt(me, now + 60_000);
      assertFound(r, [ADDRESS], P);
      assert.is(r.seq, genuine.seq, name);
      if (name !== "oversized" && name !== "replayed older record") assert.ok(r.rejected >= 1, `${name}: counted as rejected`);
    } finally {
      for (const f of restore) f();
    }
  }
});

test("each acceptance check fires over the network, and lies alone are never found", async () => {
  const me = generateIdentity();
  const now = wall(0, 40);
  const t = now / 1000;
  const target = recordLookup(me.publicKey, P).target;
  const liars = closestNodes(target, 8);
  const cases: [string, () => BDict][] = [
    ["stale", () => asDict(sealRecord(me, P, { addresses: [EVIL], t: t - 3 * PERIOD }, t))],
    ["future", () => asDict(sealRecord(me, P, { addresses: [EVIL], t: t + 310 }, t))],
    ["undecryptable", () => ownerSigned(me, P, encryptRecord(generateIdentity(), P, encode({ a: [], t })), t)],
    ["malformed", () => ownerSigned(me, P, encryptRecord(me, P, encode({ t: "x" })), t)],
  ];
  for (const [reason, forge] of cases) {
    const restore = liars.map((node) => lie(node, target, forge));
    try {
      const r = await lookupAt(me, now);
      assert.is(r.found, false, reason);
      assert.ok((r.reasons[reason as keyof typeof r.reasons] ?? 0) >= 1, `${reason}: ${JSON.stringify(r.reasons)}`);
      assert.ok(r.rejected >= 1);
    } finally {
      for (const f of restore) f();
    }
  }
});

// ---- the Announcer ------------------------------------------------------------------------------

/** The simulator's timers with a wall clock that starts at `ms`. */
function wallClock(ms: number): Clock {
  const now = clockAt(ms);
  const vc = sim.net.clock;
  return { now, setTimeout: (fn, delay) => vc.setTimeout(fn, delay), clearTimeout: (timer) => vc.clearTimeout(timer) };
}

test("the Announcer republishes every 30 minutes and always inside each period's last 10 minutes", async () => {
  const me = generateIdentity();
  const clock = wallClock(wall(0, 5));
  const seen: AnnounceResult[] = [];
  const a = new Announcer(announcer, me, { clock, addresses: [ADDRESS], onAnnounce: (r) => seen.push(r) });
  const first = await run(a.start());
  assert.is(first.stored, 8);
  const vc = sim.net.clock;
  const until = async (minute: number) => vc.run(vc.now() + wall(0, minute) - clock.now());
  // Found all along, in every period it crosses (the looker's clock agrees with the announcer's).
  for (const minute of [36, 55, 61, 119, 126]) {
    await until(minute);
    assertFound(await lookupAt(me, clock.now()), [ADDRESS], P + Math.floor(minute / 60));
  }
  a.stop();
  const minutes = (r: AnnounceResult) => Math.round((r.announcedAt - P * PERIOD) / 60);
  assert.equal(seen.map(minutes), [5, 35, 50, 80, 110]);
  assert.equal(seen.map((r) => r.periods.map((x) => x.period)), [[P], [P], [P, P + 1], [P + 1], [P + 1, P + 2]]);
  assert.ok(seen.every((r) => r.stored === 8 && r.periods.every((x) => x.stored === 8)));
  assert.ok(seen.every((r, i) => i === 0 || r.seq > seen[i - 1]!.seq));
  // Stopped: no more publications.
  await vc.run(vc.now() + 3_600_000);
  assert.is(seen.length, 5);
  assert.is(a.running, false);
});

test("the Announcer retries a publication that no node stored after a minute, and reports errors", async () => {
  const me = generateIdentity();
  const clock = wallClock(wall(0, 0));
  let puts = 0;
  const stub = {
    address: () => ({ host: "0.0.0.0", port: 7000 }),
    externalAddress: () => null,
    get: () => Promise.reject(new Error("not used")),
    put: async () => {
      if (++puts === 3) throw new Error("socket closed");
      return { target: new Uint8Array(20), stored: [], errors: [], stats: { queries: 0, responses: 0, failures: 0, rounds: 0, ms: 0 } };
    },
  } as unknown as DhtNode;
  const seen: AnnounceResult[] = [];
  const errors: unknown[] = [];
  const a = new Announcer(stub, me, { clock, onAnnounce: (r) => seen.push(r), onError: (e) => errors.push(e) });
  const first = await run(a.start());
  assert.is(first.stored, 0);
  assert.equal(first.addresses, [{ host: "127.0.0.1", port: 7000 }], "bound to every interface and no external view: loopback");
  const vc = sim.net.clock;
  await vc.run(vc.now() + 3.5 * 60_000);
  a.stop();
  assert.is(puts, 4, "at 0, 1, 2 (throws) and 3 minutes");
  assert.is(seen.length, 3);
  assert.is(errors.length, 1);
  assert.match(String(errors[0]), /socket closed/);
});

test("addresses as text, and the default ones: the DHT's external view, else the bound address", () => {
  assert.is(formatAddress({ host: "192.0.2.1", port: 80 }), "192.0.2.1:80");
  assert.is(formatAddress({ host: "2001:db8::1", port: 443 }), "[2001:db8::1]:443");
  const external = { host: "198.51.100.7", port: 51413 };
  assert.equal(ownAddresses({ externalAddress: () => external, address: () => ({ host: "0.0.0.0", port: 6881 }) }), [external]);
  assert.equal(ownAddresses({ externalAddress: () => null, address: () => ({ host: "192.0.2.1", port: 6881 }) }), [{ host: "192.0.2.1", port: 6881 }]);
  assert.equal(ownAddresses({ externalAddress: () => null, address: () => ({ host: "::", port: 6881 }) }), [{ host: "127.0.0.1", port: 6881 }]);
  // On the simulator every reply's BEP 42 `ip` names the node's own address.
  assert.equal(ownAddresses(announcer), [announcer.address()]);
});

test.run();
