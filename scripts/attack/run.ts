// `npm run attack`: the attacks of issue 9, each for CHAT_ATTACK_SECONDS (default 600) against a
// real `chat listen` process over UDP on loopback, with a legitimate sender from another IP
// throughout. Prints one markdown row per attack: the figures of the README's reliability table.
// CHAT_ATTACK=substr runs a subset. Run: `node dist/scripts/attack/run.js` or
// `deno run -A scripts/attack/run.ts` (after `npm run build`).
import { x25519FromEd25519Public } from "../../src/crypto/identity.ts";
import { formatPublicKey, generateIdentity } from "../../src/crypto/identity.ts";
import { UdpTransport } from "../../src/dht/udp.ts";
import { INITIATION_MIN } from "../../src/wire/constants.ts";
import { encodeFrame } from "../../src/wire/frames.ts";
import { Initiation } from "../../src/wire/handshake.ts";
import { type Bound, endpointOn, legitimate, row, type Row, sampler, sleep, startTarget, type Target } from "./_harness.ts";

const SECONDS = Number(process.env["CHAT_ATTACK_SECONDS"] ?? 600);
const ONLY = process.env["CHAT_ATTACK"] ?? "";
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

/** Runs `attack` against a fresh target with a legitimate sender at `legitHost`; returns its row. */
async function against(
  name: string,
  legitHost: string | null,
  attack: (t: Target, until: number) => Promise<Partial<Row>>,
  legitBytes = 20,
): Promise<Row> {
  const target = await startTarget();
  try {
    const rss = sampler(target);
    const legit = legitHost ? legitimate(legitHost, target, 10_000, legitBytes) : undefined;
    const result = await attack(target, Date.now() + SECONDS * 1000);
    const l = await legit?.stop();
    const { idle, peak } = rss.stop();
    return {
      attack: name,
      seconds: SECONDS,
      volume: "",
      legit: l ? `${l.delivered}/${l.tried} (max ${Math.max(0, ...l.rtts)} ms)` : "n/a",
      rss: `${idle.toFixed(0)} → ${peak.toFixed(0)} MB`,
      note: "",
      ...result,
    };
  } finally {
    await target.close();
  }
}

/** A well-formed initiation of random bytes: reading it costs the target a DH, then fails. */
function garbage(): Uint8Array {
  const p = crypto.getRandomValues(new Uint8Array(INITIATION_MIN));
  p.set([1, 0, 0, 0]);
  return p;
}

const attacks: Record<string, () => Promise<Row>> = {
  // 1: one IP opens a session with a fresh identity every 51 ms and confirms each with a message.
  lockout: () => against("session lockout: 1 IP, fresh identity every 51 ms", "127.0.2.1", async (t, until) => {
    const open: Bound[] = [];
    let opened = 0, confirmed = 0;
    while (Date.now() < until) {
      const b = await endpointOn("127.0.1.1");
      opened++;
      b.endpoint.sendMessage(t.publicKey, t.address, "hold").then(() => confirmed++, () => {});
      open.push(b);
      // The attacker forgets its side (no close frame): the target keeps the session until evicted.
      if (open.length > 200) open.shift()!.socket.close();
      await sleep(51);
    }
    for (const b of open) b.close();
    return { volume: `${opened} sessions opened, ${confirmed} confirmed` };
  }),

  // 2a: garbage initiations at 100 pps from other ports of the legitimate user's own IP.
  "flood-same-ip": () => against("handshake flood: 100 pps garbage, same IP", "127.0.1.1", async (t, until) => {
    const sockets = await Promise.all(Array.from({ length: 50 }, () => UdpTransport.bind({ host: "127.0.1.1" })));
    let sent = 0;
    while (Date.now() < until) {
      for (let i = 0; i < 10; i++) sockets[sent++ % sockets.length]!.send(garbage(), t.address);
      await sleep(100);
    }
    for (const s of sockets) s.close();
    return { volume: `${sent} garbage initiations` };
  }),

  // 2b: garbage at 1,000 pps from 256 sources that never answer a cookie (as spoofed ones).
  "flood-many": () => against("handshake flood: 1,000 pps garbage, 256 silent IPs", "127.0.2.1", async (t, until) => {
    const sockets = await Promise.all(Array.from({ length: 256 }, (_, i) => UdpTransport.bind({ host: `127.10.${1 + (i >> 7)}.${1 + (i & 127)}` })));
    let sent = 0;
    while (Date.now() < until) {
      for (let i = 0; i < 100; i++) sockets[sent++ % sockets.length]!.send(garbage(), t.address);
      await sleep(100);
    }
    for (const s of sockets) s.close();
    return { volume: `${sent} garbage initiations` };
  }),

  // 1c: sixteen sessions of one /24 keep incomplete 64-fragment messages in the target.
  reassembly: () => against("reassembly: 16 sessions of one /24, incomplete 64 KiB", "127.0.2.1", async (t, until) => {
    const attackers: Bound[] = [];
    for (let i = 1; i <= 16; i++) {
      const b = await endpointOn(`127.0.1.${i}`);
      await b.endpoint.sendMessage(t.publicKey, t.address, "hello");
      attackers.push(b);
    }
    let fragments = 0;
    while (Date.now() < until) {
      for (const b of attackers) {
        const session = b.endpoint._sessions()[0];
        if (!session) continue;
        for (let k = 0; k < 8; k++) {
          const id = crypto.getRandomValues(new Uint8Array(16));
          for (let index = 0; index < 63; index++, fragments++) {
            const packet = session.seal(encodeFrame({ type: "message", id, index, count: 64, sentAt: Date.now(), data: new Uint8Array(1024) }));
            if (packet) b.socket.send(packet, t.address);
          }
          await sleep(5);
        }
      }
      await sleep(5000);
    }
    for (const b of attackers) b.close();
    return { volume: `${fragments} fragments, never a last one`, note: "the legitimate messages are 64 KiB (64 fragments)" };
  }, 65_536),

  // 1b: a contact sends messages as fast as its send window allows.
  spam: () => against("message spam: one contact, full window", "127.0.2.1", async (t, until) => {
    const b = await endpointOn("127.0.1.1");
    let acked = 0, stop = false;
    const one = (): void => {
      if (!stop) b.endpoint.sendMessage(t.publicKey, t.address, "spam").then(() => acked++, () => {}).finally(one);
    };
    for (let i = 0; i < 64; i++) one();
    const started = Date.now();
    await sleep(until - Date.now());
    stop = true;
    const printed = t.printedFrom.get(formatPublicKey(b.identity.publicKey)) ?? 0;
    b.close();
    return { volume: `${acked} acked`, note: `${printed} printed: ${(printed / ((Date.now() - started) / 1000)).toFixed(0)}/s` };
  }),

  // 5: nobody reads listen's stdout while three senders push 60 KB messages; then a kill.
  stalled: () => against("chat listen, stdout never read, 60 KB messages", null, async (t, until) => {
    t.pause();
    const acked = new Set<string>();
    let failed = 0, stop = false;
    const senders = await Promise.all([1, 2, 3].map((i) => endpointOn(`127.0.2.${i}`)));
    for (const b of senders) {
      const one = (): void => {
        if (!stop) b.endpoint.sendMessage(t.publicKey, t.address, "m".repeat(60_000)).then((d) => acked.add(hex(d.id)), () => failed++).finally(one);
      };
      for (let k = 0; k < 4; k++) one();
    }
    await sleep(until - Date.now());
    stop = true;
    await t.kill(); // the pipe is then read to its end
    const lost = [...acked].filter((id) => !t.printedIds.has(id)).length;
    for (const b of senders) b.close();
    return { volume: `${acked.size} acked, ${failed} failed`, note: `${t.printedIds.size} in the pipe; acked but lost: ${lost}` };
  }),

  // 7: replays of a captured initiation, and of one older than the freshness window.
  replay: () => against("replayed initiations, 10/s", "127.0.2.1", async (t, until) => {
    const socket = await UdpTransport.bind({ host: "127.0.1.1" });
    let answers = 0;
    socket.onMessage(() => answers++);
    const x = x25519FromEd25519Public(t.publicKey);
    const captured = new Initiation(generateIdentity(), x, 1, Date.now()).packet;
    const stale = new Initiation(generateIdentity(), x, 2, Date.now() - 180_000).packet;
    let sent = 0;
    while (Date.now() < until) {
      socket.send(captured, t.address);
      socket.send(stale, t.address);
      sent += 2;
      await sleep(200);
    }
    socket.close();
    return { volume: `${sent} replays`, note: `${answers} answered (the first copy of the captured one)` };
  }),
};

console.log(`\n${"Deno" in globalThis ? "Deno" : `Node ${process.version}`}, ${SECONDS} s per attack\n`);
console.log("| attack | length | attack volume | legitimate sends delivered | target RSS (idle → peak) | notes |");
console.log("|---|---|---|---|---|---|");
for (const [name, run] of Object.entries(attacks)) {
  if (!name.includes(ONLY)) continue;
  console.log(row(await run()));
}
process.exit(0);
