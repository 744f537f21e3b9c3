// Attack 1c (issue 9): one source holds the reassembly budget. Sixteen sessions from one /24 send
// the first 63 fragments of 64-fragment messages, never the last, and keep doing it for 60 s.
// Defence: each source group gets a share of the budget (maxPartialBytesPerSource), so a
// multi-fragment message from elsewhere still arrives at once.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { DEFAULT_LIMITS } from "../src/wire/constants.ts";
import { encodeFrame } from "../src/wire/frames.ts";
import { assertMemoryBounded, at, type At, delivers, identities } from "./_attack_wire.ts";
import { prng, SimNet, track, VirtualTime } from "./_wire_sim.ts";

const test = suite("attack: reassembly budget");

test("one /24 sends incomplete 64 KiB messages for 60 s: it holds at most its share; 64 KiB from elsewhere arrives at once", async () => {
  const time = new VirtualTime();
  const net = new SimNet(time);
  const fresh = identities(11);
  const b = at(net, fresh(), { host: "127.0.0.1", port: 7000 });
  const attackers: At[] = [];
  for (let i = 1; i <= 16; i++) {
    const m = at(net, fresh(), { host: `127.0.1.${i}`, port: 7000 });
    assert.ok(await delivers(net, m, b, "hello"));
    attackers.push(m);
  }
  const rand = prng(12);
  const flood = () => {
    for (const m of attackers) {
      const session = m.endpoint._sessions()[0]!;
      for (let k = 0; k < DEFAULT_LIMITS.maxPartialPerSession; k++) {
        const id = Uint8Array.from({ length: 16 }, () => Math.floor(rand() * 256));
        for (let index = 0; index < 63; index++) {
          const frame = encodeFrame({ type: "message", id, index, count: 64, sentAt: time.now, data: new Uint8Array(1024).fill(index) });
          b.endpoint.receive(session.seal(frame)!, m.address);
        }
      }
    }
  };
  let peak = 0;
  const legit: number[] = [];
  for (let second = 0; second < 60; second += 5) {
    flood();
    peak = Math.max(peak, b.endpoint.stats.partialBytes);
    if (second % 20 === 10) {
      const a = at(net, fresh(), { host: "127.0.2.1", port: 7000 + second });
      const sent = track(a.endpoint.sendMessage(b.identity.publicKey, b.address, "€".repeat(21_845)));
      await time.until(() => sent.done, 15_000);
      assert.ok(sent.value, String(sent.error));
      legit.push(sent.value!.rttMs);
      a.endpoint.close();
    }
    await time.advance(5000 - (time.now - 1_700_000_000_000) % 5000);
  }
  assert.is(legit.length, 3);
  assert.ok(legit.every((ms) => ms < 100), `64 KiB delivered in ${legit.join(", ")} ms (virtual), no retransmission`);
  assert.ok(peak <= DEFAULT_LIMITS.maxPartialBytesPerSource, `the /24 held at most ${peak} bytes`);
  assert.ok(b.endpoint.stats.dropped.refused > 0, "its fragments beyond the share were refused");
  assert.ok(b.inbox.every((m) => m.text === "hello" || m.text.startsWith("€")), "nothing incomplete was delivered");
  assertMemoryBounded("reassembly");
  for (const m of attackers) m.endpoint.close();
  b.endpoint.close();
});

test.run();
