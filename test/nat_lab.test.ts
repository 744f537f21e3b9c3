// Issue 8, "two people behind home NATs can talk", with the real CLI in a lab of Linux network
// namespaces and real Linux NATs (test/nat/lab.ts). Needs root, `ip` and `iptables` (.ci/run
// installs them): without them this suite FAILS, it never skips.
//
// Every scenario starts at once when the lab is up (they use disjoint hosts and routers) and each
// test awaits its scenario's outcome, so the long waits (60 s of silence, a relay's replacement)
// overlap: the suite took about 90 s per runtime on this project's 2-core machine.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { runChat } from "./_cli.ts";
import { ChatProc, sendInTurn, sendOnce, startChatIn, type Event } from "./nat/chat.ts";
import { NatLab, type Host, type Router } from "./nat/lab.ts";
import { measureNats, portOf } from "./nat/probe.ts";

type Kind = "public" | "cone" | "symmetric" | "double";
const KINDS: Kind[] = ["public", "cone", "symmetric", "double"];
type Path = "direct" | "relayed";

/**
 * The path each pair settles on (the path of the second message's ack), EXPECTED[listener][sender].
 * What the lab's routers do (measured by the "lab" test below): MASQUERADE keeps the source port
 * for every destination; `--random-fully` takes a new random port per destination; both let in only
 * replies from the exact address and port a datagram went to; and, as a home router's firewall
 * does (OpenWrt's wan zone), they drop whatever arrives for themselves unasked. That last rule
 * matters: a bare Linux NAT keeps a conntrack entry for a datagram that reached it before its host
 * wrote to that sender, and the host's own datagram then leaves from another port (the far NAT
 * drops it); dropped in the filter table, the entry is never confirmed and nothing moves.
 * - listener public: the initiation arrives directly; the response goes back through the mapping
 *   the sender's initiation opened. Direct for every sender.
 * - sender public, listener behind any NAT: the relayed initiation makes the listener punch to the
 *   sender's real address; nothing filters at the sender, which answers the punch's source. Direct.
 * - both behind port-preserving NATs (cone, double): the listener's punch opens its NAT toward the
 *   sender (and is dropped at the sender's); the sender's first packets, sent both relayed and
 *   directly to the listener's public address, get through the hole it opened; the listener says
 *   so directly and both switch. Direct.
 * - a symmetric NAT and a NAT'd other end: the sender's NAT opens a port per destination, so the
 *   listener's punch to the port the relay saw meets a mapping made for the relay and is dropped;
 *   a symmetric listener punches from a port nobody opened toward. Relayed.
 */
const EXPECTED: Record<Kind, Record<Kind, Path>> = {
  public: { public: "direct", cone: "direct", symmetric: "direct", double: "direct" },
  cone: { public: "direct", cone: "direct", symmetric: "relayed", double: "direct" },
  symmetric: { public: "direct", cone: "relayed", symmetric: "relayed", double: "relayed" },
  double: { public: "direct", cone: "direct", symmetric: "relayed", double: "direct" },
};

/** Time bounds, each from the protocol's own numbers plus room for 2 shared cores. */
const READY_MS = 45_000; // NAT detection, 2 registrations, the record published
const SEND_MS = 40_000; // a lookup, a handshake (direct and relayed at once), one message
const SILENCE_MS = 60_000;
const NEW_SENDER_MS = 30_000;
const RELAY_MOVE_MS = 80_000; // §9: a relay missing 3 answers to 20-s registrations is replaced
const NAT_TIMEOUT_S = 10;
const KEEPALIVE_S = 4;
const STATS_WAIT_MS = 1_500; // a relay's `--stats 1` line after the first message
const DHT_NODES = 5;
const DHT_PORT = 6881;

const nat = suite("nat lab: chat across real Linux NATs");
const dir = mkdtempSync(join(tmpdir(), "chat-natlab-"));
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const ipOf = (address: unknown): string => String(address).split(":")[0] ?? "";

interface Identity { file: string; key: string }
interface Lab {
  lab: NatLab;
  env: Record<string, string>;
  ids: Record<string, Identity>;
  hosts: Record<string, Host>;
  routers: Record<string, Router>;
  listeners: Record<string, ChatProc>;
  relays: Map<string, ChatProc>;
  /** The relay case's own network: its DHT is its three relays. */
  relayEnv: Record<string, string>;
}
let L: Lab | undefined;
const scenarios: Record<string, Promise<unknown>> = {};
const lab = (): Lab => {
  if (!L) throw new Error("the lab did not come up (see the first test)");
  return L;
};

async function identity(name: string): Promise<Identity> {
  const file = join(dir, `${name}.json`);
  const made = await runChat(["keygen", "--out", file]);
  if (made.code !== 0) throw new Error(`keygen ${name}: ${made.stderr}`);
  return { file, key: JSON.parse((await runChat(["id", file])).stdout).publicKey };
}

/** `chat node` processes, each in its own namespace on the wan, bootstrapped to each other. */
async function startNodes(net: NatLab, names: string[], env: Record<string, string>, extra: string[] = []): Promise<Map<string, ChatProc>> {
  const hosts = names.map((n) => net.publicHost(n));
  const bootstrap = hosts.map((h) => `${h.ip}:${DHT_PORT}`).join(",");
  const nodes = new Map<string, ChatProc>();
  for (const h of hosts) {
    const p = startChatIn(net, h, ["node", "--port", String(DHT_PORT), "--bootstrap", bootstrap, ...extra], env, `node ${h.ip}`);
    await p.waitFor((e) => e["type"] === "listening", 15_000, "listening");
    nodes.set(h.ip, p);
  }
  return nodes;
}

/** A listener is ready once its record is out, after 2 relay registrations when behind a NAT. */
async function ready(p: ChatProc, behindNat = true): Promise<void> {
  const after = behindNat ? p.events.indexOf(await p.waitFor(registered, READY_MS, "2 relay registrations", 2)) : -1;
  const stored = (e: Event) => e["type"] === "announced" && Number(e["stored"]) > 0 && p.events.indexOf(e) > after;
  await p.waitFor(stored, READY_MS, "an announcement that some node stored");
}
const registered = (e: Event) => e["type"] === "relay" && e["state"] === "registered";
const report = (e: Event) => e["type"] === "delivered" || e["type"] === "failed";

function listen(net: NatLab, host: Host, id: Identity, env: Record<string, string>, extra: string[] = []): ChatProc {
  return startChatIn(net, host, ["listen", "--identity", id.file, ...extra], env, `listener on ${host.name}`);
}

/** What a scenario started by the first test came to (its rejection fails the test awaiting it). */
function outcome<T>(name: string): Promise<T> {
  const p = scenarios[name];
  if (!p) throw new Error(`scenario "${name}" never started: the lab did not come up (see the first test)`);
  return p as Promise<T>;
}

nat("lab: namespaces, NATs, DHT nodes and listeners come up", async () => {
  const net = new NatLab();
  const routers: Record<string, Router> = {};
  const hosts: Record<string, Host> = {};
  try {
    // One home per kind for listeners (l…) and for senders (s…); double NAT = a home router
    // behind a carrier's; then the homes of the keepalive (k, short mappings) and relay (rl) cases.
    for (const side of ["l", "s"]) {
      routers[`${side}c`] = net.router(`r-${side}c`, { mapping: "cone" });
      routers[`${side}y`] = net.router(`r-${side}y`, { mapping: "symmetric" });
      routers[`${side}dk`] = net.router(`r-${side}dk`, { mapping: "cone", carrier: true });
      routers[`${side}d`] = net.router(`r-${side}d`, { mapping: "cone", behind: routers[`${side}dk`]! });
      hosts[`${side}p`] = net.publicHost(`${side}p`);
      for (const k of ["c", "y", "d"]) hosts[`${side}${k}`] = net.host(`${side}${k}`, routers[`${side}${k}`]!);
    }
    hosts["lan"] = net.host("lan", routers["lc"]!);
    routers["k"] = net.router("r-k", { mapping: "cone", udpTimeoutS: NAT_TIMEOUT_S });
    hosts["k"] = net.host("k", routers["k"]);
    routers["rl"] = net.router("r-rl", { mapping: "cone" });
    hosts["rl"] = net.host("rl", routers["rl"]);
    // Bare UDP probes, beside the chat hosts (plugged in now: no link changes once chat runs).
    for (const [name, router] of [["pc", "sc"], ["py", "sy"], ["pd", "sd"], ["po", "lc"], ["pk", "k"]] as const) hosts[name] = net.host(name, routers[router]!);

    const names = ["lp", "lc", "ly", "ld", "k", "rl", "sp", "sc", "sy", "sd", "lan", "kaSession", "kaNew", "relSession", "relNew1", "relNew2"];
    const ids = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await identity(n)] as const)));
    const dht = await startNodes(net, Array.from({ length: DHT_NODES }, (_, i) => `d${i}`), {});
    const env = { CHAT_BOOTSTRAP: [...dht.keys()].map((ip) => `${ip}:${DHT_PORT}`).join(",") };
    // The relay case has a DHT of its own, made of its three relays: its listener can pick no other
    // relay, and killing them disturbs no other case.
    // Their counters every second tell which relay carries the session (see relayLoss).
    const relays = await startNodes(net, ["x0", "x1", "x2"], {}, ["--stats", "1"]);
    const relayList = [...relays.keys()].map((ip) => `${ip}:${DHT_PORT}`).join(",");
    const relayEnv = { CHAT_BOOTSTRAP: relayList, CHAT_RELAYS: relayList };
    const listeners: Record<string, ChatProc> = {};
    for (const n of ["lp", "lc", "ly", "ld"]) listeners[n] = listen(net, hosts[n]!, ids[n]!, env);
    // Behind a NAT that forgets a mapping after 10 s, keepalives must come sooner, as WireGuard's
    // PersistentKeepalive is set below the NAT's timeout.
    listeners["k"] = listen(net, hosts["k"]!, ids["k"]!, env, ["--keepalive", String(KEEPALIVE_S)]);
    listeners["rl"] = listen(net, hosts["rl"]!, ids["rl"]!, relayEnv);
    await Promise.all(Object.values(listeners).map((p) => p.waitFor((e) => e["type"] === "listening", 15_000, "listening")));
    L = { lab: net, env, ids, hosts, routers, listeners, relays, relayEnv };
  } catch (err) {
    net.destroy();
    throw err;
  }
  for (const [name, run] of Object.entries({ natBehaviour, matrix, lan, keepalive, relayLoss })) {
    const outcome = run();
    outcome.catch(() => {}); // awaited by its tests; a failure is theirs, not unhandled
    scenarios[name] = outcome;
  }
});

/** What the lab's NATs do to bare UDP (no chat): the facts EXPECTED rests on. */
function natBehaviour() {
  const { lab: net, hosts } = lab();
  const h = (name: string) => hosts[name]!;
  return measureNats(net, { far: h("sp"), cone: h("pc"), symmetric: h("py"), double: h("pd"), other: h("po"), short: h("pk") }, NAT_TIMEOUT_S);
}

nat("lab: MASQUERADE keeps ports, --random-fully does not, only replies get in, short mappings expire", async () => {
  const m = await outcome<Awaited<ReturnType<typeof measureNats>>>("natBehaviour");
  const { routers } = lab();
  assert.equal(m.cone, [`${routers["sc"]!.outsideIp}:5000`, `${routers["sc"]!.outsideIp}:5000`], "cone: one port-preserving mapping");
  assert.equal(m.double, [`${routers["sdk"]!.outsideIp}:5000`, `${routers["sdk"]!.outsideIp}:5000`], "double: preserved through both");
  assert.is.not(portOf(m.symmetric[0]), portOf(m.symmetric[1]), "symmetric: a port per destination");
  assert.ok(!m.unsolicited, "an unsolicited datagram is dropped");
  assert.ok(m.reply, "a reply from where a datagram went gets in");
  assert.type(m.clashPort, "number", "the outbound datagram made a conntrack entry");
  assert.is(m.clashPort, 5000, "an unsolicited datagram first leaves nothing behind: the outbound one keeps its port");
  assert.ok(m.punchArrived, "so it gets through the other NAT, which had written to it first");
  assert.is(portOf(m.laterDestination), 5000, "and later destinations keep the port too");
  assert.ok(m.shortAlive && m.shortExpired, `a ${NAT_TIMEOUT_S}-s mapping lets replies in, then expires`);
});

nat("listeners say whether they are behind a NAT and what the world sees", async () => {
  const { listeners, hosts, routers } = lab();
  const expect: [string, boolean, string][] = [["lp", false, hosts["lp"]!.ip], ["lc", true, routers["lc"]!.outsideIp], ["ly", true, routers["ly"]!.outsideIp], ["ld", true, routers["ldk"]!.outsideIp]];
  for (const [name, behindNat, ip] of expect) {
    const e = await listeners[name]!.waitFor((x) => x["type"] === "nat", READY_MS, "a nat event");
    assert.is(e["behindNat"], behindNat, `${name}: ${JSON.stringify(e)}`);
    assert.is(ipOf(e["publicAddress"]), ip, `${name}: ${JSON.stringify(e)}`);
  }
});

/** Fails with every broken expectation of a scenario at once (one does not hide the next). */
function expectAll(checks: [boolean, string][]): void {
  const broken = checks.filter(([ok]) => !ok).map(([, what]) => what);
  assert.equal(broken, [], broken.join("\n"));
}

const listenerOf: Record<Kind, string> = { public: "lp", cone: "lc", symmetric: "ly", double: "ld" };
const senderOf: Record<Kind, string> = { public: "sp", cone: "sc", symmetric: "sy", double: "sd" };
/** Each pair sends two messages in one session: the first finds the path, the second shows where it settled. */
const texts = (l: Kind, s: Kind) => [`from a ${s} sender to a ${l} listener`, `again from a ${s} sender to a ${l} listener`];
type Outcome = ChatProc | Error;

/** The 16 pairs: each listener's 4 senders start as soon as that listener is ready. */
async function matrix(): Promise<Map<string, Outcome>> {
  const { lab: net, hosts, ids, listeners, env } = lab();
  const out = new Map<string, Outcome>();
  await Promise.all(KINDS.map(async (l) => {
    const listener = listeners[listenerOf[l]]!;
    const isReady = await ready(listener, l !== "public").then(() => undefined, (e: Error) => e);
    await Promise.all(KINDS.map(async (s) => {
      const id = ids[senderOf[s]]!;
      out.set(`${l}←${s}`, isReady ?? await sendInTurn(net, hosts[senderOf[s]]!, ids[listenerOf[l]]!.key, id.file, texts(l, s), env, SEND_MS));
    }));
  }));
  return out;
}

/** Why a pair did not deliver, or undefined when it did (and the listener printed the message). */
async function problem(l: Kind, s: Kind, o: Outcome | undefined): Promise<string | undefined> {
  if (!o) return "not run";
  if (o instanceof Error) return `listener not ready: ${o.message.slice(0, 400)}`;
  const delivered = o.ofType("delivered");
  if (o.code !== 0 || delivered.length !== 2) {
    const announced = lab().listeners[listenerOf[l]]!.ofType("announced").map((e) => `${e["stored"]} stored, ${JSON.stringify(e["addresses"])}`);
    return `exit ${o.code}, ${JSON.stringify(o.events)}, stderr ${o.stderr.slice(-300)}; the listener's announcements: ${announced.join("; ")}`;
  }
  for (const t of texts(l, s)) {
    const got = await lab().listeners[listenerOf[l]]!.waitFor((e) => e["type"] === "message" && e["text"] === t, 5_000, "the message").catch((e: Error) => e);
    if (got instanceof Error) return got.message.slice(0, 400);
    if (got["from"] !== lab().ids[senderOf[s]]!.key) return `from ${String(got["from"])}`;
  }
  return undefined;
}

for (const l of KINDS) {
  nat(`${l} listener: a public, cone, symmetric and double-NAT sender each deliver`, async () => {
    const results = await outcome<Map<string, Outcome>>("matrix");
    const problems: string[] = [];
    for (const s of KINDS) {
      const p = await problem(l, s, results.get(`${l}←${s}`));
      if (p) problems.push(`${s} sender: ${p}`);
    }
    assert.equal(problems, [], problems.join("\n"));
  });
}

nat("paths: direct unless a symmetric NAT faces another NAT, then relayed (the table EXPECTED)", async () => {
  const results = await outcome<Map<string, Outcome>>("matrix");
  const actual = Object.fromEntries(KINDS.map((l) => [l, Object.fromEntries(KINDS.map((s) => {
    const o = results.get(`${l}←${s}`);
    const delivered = o instanceof ChatProc ? o.ofType("delivered")[1] : undefined;
    return [s, delivered ? delivered["path"] ?? "delivered, no path reported" : "not delivered"];
  }))]));
  const first = KINDS.flatMap((l) => KINDS.map((s) => {
    const o = results.get(`${l}←${s}`);
    return `${l}←${s}: ${o instanceof ChatProc ? o.ofType("delivered")[0]?.["path"] : "-"}`;
  }));
  assert.equal(actual, EXPECTED, `first messages' paths: ${first.join(", ")}`);
});

/** A second host on the cone listener's LAN: the record's LAN address, no hairpin needed. */
async function lan(): Promise<ChatProc> {
  const { lab: net, hosts, ids, listeners, env } = lab();
  await ready(listeners["lc"]!);
  return sendOnce(net, hosts["lan"]!, ids["lc"]!.key, ids["lan"]!.file, "over the LAN", env, SEND_MS);
}

nat("two hosts behind the same NAT talk directly over their LAN", async () => {
  const p = await outcome<ChatProc>("lan");
  assert.is(p.code, 0, JSON.stringify(p.events) + p.stderr);
  // The lab's routers do not hairpin (a datagram to their own public address stays in them), so
  // a direct path here can only be the LAN address.
  assert.is(p.ofType("delivered")[0]?.["path"], "direct");
});

/**
 * The listener behind a NAT whose UDP mappings die after 10 s idle: a session and the relay
 * registrations must outlive 60 s of silence (keepalives), for the same sender and for a new one.
 */
async function keepalive() {
  const { lab: net, hosts, ids, listeners, env } = lab();
  const listener = listeners["k"]!;
  await ready(listener);
  const session = startChatIn(net, hosts["sp"]!, ["send", ids["k"]!.key, "--identity", ids["kaSession"]!.file], env, "keepalive session");
  try {
    session.writeLine("before the silence");
    const first = await session.waitFor(report, SEND_MS, "a report");
    await sleep(SILENCE_MS);
    session.writeLine("after the silence");
    const [again, fresh] = await Promise.all([
      session.waitFor(report, NEW_SENDER_MS, "a second report", 2).catch((e: Error) => ({ type: "none", message: e.message })),
      sendOnce(net, hosts["sc"]!, ids["k"]!.key, ids["kaNew"]!.file, "a new sender after the silence", env, NEW_SENDER_MS),
    ]);
    return { first, again, fresh };
  } finally {
    session.child.stdin!.end();
  }
}

nat(`${NAT_TIMEOUT_S}-s NAT mappings: after ${SILENCE_MS / 1000} s of silence the session and a new sender still deliver`, async () => {
  const r = await outcome<Awaited<ReturnType<typeof keepalive>>>("keepalive");
  expectAll([
    [r.first["type"] === "delivered", `the first message: ${JSON.stringify(r.first)}`],
    [r.again["type"] === "delivered", `the same session, ${SILENCE_MS / 1000} s later: ${JSON.stringify(r.again)}`],
    [r.fresh.code === 0, `a new sender: ${JSON.stringify(r.fresh.events)} ${r.fresh.stderr.slice(-300)}`],
  ]);
});

/**
 * The cone listener `rl` lives in a network of its own whose DHT nodes x0…x2 are its only relays.
 * A symmetric sender reaches it only through a relay (see EXPECTED); the relay that carries the
 * session dies mid-session, later the other one it first registered with.
 */
async function relayLoss() {
  const { lab: net, hosts, ids, listeners, relays, relayEnv: env } = lab();
  const listener = listeners["rl"]!;
  await ready(listener);
  const [first = "", second = ""] = listener.events.filter(registered).map((e) => String(e["address"]));
  if (!relays.has(ipOf(first)) || !relays.has(ipOf(second))) {
    throw new Error(`listener on rl registered with ${first} and ${second}, not with the relays of its network (${[...relays.keys()].join(", ")})`);
  }
  const session = startChatIn(net, hosts["sy"]!, ["send", ids["rl"]!.key, "--identity", ids["relSession"]!.file], env, "relay session");
  try {
    session.writeLine("before the kill");
    const before = await session.waitFor(report, SEND_MS, "a report");
    // Both relays forwarded a copy of the initiation; only the session's carried the listener's
    // answers back (the replay guard drops the later copy unanswered).
    await sleep(STATS_WAIT_MS);
    const back = (address: string) => Number((relays.get(ipOf(address))!.ofType("stats").at(-1)?.["relay"] as Event | undefined)?.["forwardedBack"] ?? 0);
    const [used, spare] = back(second) > back(first) ? [second, first] : [first, second];
    net.kill(relays.get(ipOf(used))!.child);
    session.writeLine("after the kill");
    const [afterKill, fresh] = await Promise.all([
      session.waitFor(report, NEW_SENDER_MS, "a second report", 2).catch((e: Error) => ({ type: "none", message: e.message })),
      sendOnce(net, hosts["sy"]!, ids["rl"]!.key, ids["relNew1"]!.file, "a new sender after a relay died", env, NEW_SENDER_MS),
    ]);
    const moved = await listener.waitFor((e) => registered(e) && e["address"] !== first && e["address"] !== second, RELAY_MOVE_MS, "a registration with a third relay");
    const lost = listener.events.find((e) => e["type"] === "relay" && e["state"] === "lost" && e["address"] === used);
    const republished = await listener.waitFor((e) => e["type"] === "announced" && listener.events.indexOf(e) > listener.events.indexOf(moved), NEW_SENDER_MS, "an announcement after it");
    net.kill(relays.get(ipOf(spare))!.child);
    const onlyNew = await sendOnce(net, hosts["sy"]!, ids["rl"]!.key, ids["relNew2"]!.file, "a new sender when only the new relay lives", env, NEW_SENDER_MS);
    return { before, afterKill, fresh, moved, lost, republished, onlyNew };
  } finally {
    session.child.stdin!.end();
  }
}

nat("a relay dies mid-session: the session and a new sender get through within 30 s", async () => {
  const r = await outcome<Awaited<ReturnType<typeof relayLoss>>>("relayLoss");
  expectAll([
    [r.before["type"] === "delivered" && r.before["path"] === "relayed", `before the kill, relayed: ${JSON.stringify(r.before)}`],
    [r.afterKill["type"] === "delivered", `the same session after the kill: ${JSON.stringify(r.afterKill)}`],
    [r.fresh.code === 0, `a new sender after the kill: ${JSON.stringify(r.fresh.events)} ${r.fresh.stderr.slice(-300)}`],
  ]);
});

nat("a relay dies: the listener reports it lost, registers with another, republishes; senders use it", async () => {
  const r = await outcome<Awaited<ReturnType<typeof relayLoss>>>("relayLoss");
  assert.ok(r.lost, "a lost event for the dead relay");
  assert.is(r.republished["type"], "announced");
  assert.is(r.onlyNew.code, 0, `with both first relays dead: ${JSON.stringify(r.onlyNew.events)} ${r.onlyNew.stderr.slice(-300)}`);
});

nat.after(() => {
  L?.lab.destroy();
  rmSync(dir, { recursive: true, force: true });
});

nat.run();
