// Attack 5 (issue 9): acked, then lost. A reader that does not read while senders push 60 KB
// messages and chat lines at it. Defence: a message is acked only when the application takes it,
// with a bounded queue in between (mailbox.ts); when the queue is full, nothing new is acked.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { SessionEndpoint } from "../src/wire/endpoint.ts";
import { assertMemoryBounded, at, type At, identities } from "./_attack_wire.ts";
import { hex, seededBytes, SimNet, VirtualTime } from "./_wire_sim.ts";

const test = suite("attack: a reader that does not read");

const limits = { maxQueued: 200, maxQueuedBytes: 1024 * 1024, maxQueuedPerPeer: 100, maxQueuedBytesPerPeer: 256 * 1024 };

test("60 s of 60 KB messages and chat lines to a stalled reader: the queue stays bounded, nothing acked is lost", async () => {
  const time = new VirtualTime();
  const net = new SimNet(time);
  const fresh = identities(7);
  const identity = fresh();
  const address = { host: "127.0.0.1", port: 7000 };
  // The receiver has no listener, only an iterator that nobody reads (yet).
  const b = new SessionEndpoint({ identity, send: net.sender(address), clock: time.clock, timers: time.timers, random: seededBytes(3), limits });
  net.attach(address, (data, from) => b.receive(data, from));
  const inbox = b.messages();

  const acked = new Set<string>();
  let failed = 0;
  let stop = false;
  const keepSending = (from: At, text: string) => {
    const one = (): void => {
      if (stop) return;
      from.endpoint.sendMessage(identity.publicKey, address, text).then(
        (d) => acked.add(hex(d.id)),
        () => failed++,
      ).finally(one);
    };
    for (let i = 0; i < 4; i++) one();
  };
  const senders: At[] = [];
  for (let i = 0; i < 6; i++) {
    const s = at(net, fresh(), { host: `127.0.${2 + i}.1`, port: 7000 });
    senders.push(s);
    keepSending(s, (i % 2 ? "x" : "€").repeat(i % 2 ? 60_000 : 20_000));
  }
  const chatty = at(net, fresh(), { host: "127.0.9.1", port: 7000 });
  keepSending(chatty, "a chat line");

  let maxQueued = 0;
  for (let s = 0; s < 30; s++) {
    await time.advance(1000);
    maxQueued = Math.max(maxQueued, b.stats.queuedBytes);
  }
  assert.is(acked.size, 0, "nothing was taken, so nothing was acked");
  assert.ok(b.stats.dropped.queueFull > 0, "messages beyond the queue were refused");
  assert.ok(maxQueued <= limits.maxQueuedBytes, `queued ${maxQueued} bytes`);

  // The reader wakes up and reads slowly: one message every 200 ms for 30 s.
  const yielded = new Set<string>();
  for (let s = 0; s < 150; s++) {
    const next = inbox.next();
    await time.advance(200);
    const r = await Promise.race([next, Promise.resolve(null)]);
    if (r && !r.done) yielded.add(hex(r.value.id));
    else if (!r) void next.then((late) => !late.done && yielded.add(hex(late.value.id)));
    maxQueued = Math.max(maxQueued, b.stats.queuedBytes);
  }
  // Then it is killed: everything a sender was told was delivered, the reader had.
  stop = true;
  b.close();
  await time.advance(100);
  assert.ok(acked.size > 50, `acked ${acked.size}`);
  for (const id of acked) assert.ok(yielded.has(id), `acked ${id} was taken`);
  assert.ok(failed > 0, "senders were told of failures instead");
  assert.ok(maxQueued <= limits.maxQueuedBytes, `queued at most ${maxQueued} bytes`);
  assert.ok(b.stats.partialBytes === 0);
  assertMemoryBounded("stalled reader");
  for (const s of [...senders, chatty]) s.endpoint.close();
});

test("ack: 'next' takes a message only when the consumer asks for the one after it", async () => {
  const time = new VirtualTime();
  const net = new SimNet(time);
  const fresh = identities(8);
  const identity = fresh();
  const address = { host: "127.0.0.1", port: 7000 };
  const b = new SessionEndpoint({ identity, send: net.sender(address), clock: time.clock, timers: time.timers, random: seededBytes(4) });
  net.attach(address, (data, from) => b.receive(data, from));
  const inbox = b.messages({ ack: "next" });
  const a = at(net, fresh(), { host: "127.0.2.1", port: 7000 });
  let acked = false;
  void a.endpoint.sendMessage(identity.publicKey, address, "one").then(() => (acked = true));
  const next = inbox.next();
  await time.advance(300);
  const first = await next;
  assert.is(first.value?.text, "one");
  assert.is(acked, false, "yielded, but not yet handled");
  void inbox.next();
  await time.advance(300);
  assert.is(acked, true, "asked for the next: taken");
  a.endpoint.close();
  b.close();
});

test.run();
