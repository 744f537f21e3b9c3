// Attack 7 (issue 9): replayed initiations. The per-identity memory of PROTOCOL §6 is lost on a
// restart and forgets under pressure; the freshness window (t within ±2 minutes of our clock,
// docs/PROTOCOL.md §8) closes both holes for anything older.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { TIMESTAMP_WINDOW } from "../src/wire/constants.ts";
import { Initiation } from "../src/wire/handshake.ts";
import { assertMemoryBounded, at, delivers, identities } from "./_attack_wire.ts";
import { SimNet, VirtualTime } from "./_wire_sim.ts";

const test = suite("attack: replayed initiations");

test("after a restart, an initiation captured more than 2 minutes ago gets no response", async () => {
  const time = new VirtualTime();
  const net = new SimNet(time);
  const fresh = identities(14);
  const identity = fresh();
  let b = at(net, identity, { host: "127.0.0.1", port: 7000 });
  const a = at(net, fresh(), { host: "127.0.2.1", port: 7000 });
  assert.ok(await delivers(net, a, b, "captured"));
  const captured = net.log.find((d) => d.data[0] === 1)!.data;
  // B restarts: a new endpoint, same identity, nothing remembered.
  b.endpoint.close();
  net.detach(b.address);
  await time.advance(TIMESTAMP_WINDOW + 1000);
  b = at(net, identity, { host: "127.0.0.1", port: 7000 });
  const logged = net.log.length;
  b.endpoint.receive(captured, { host: "127.0.3.1", port: 4000 });
  await time.advance(100);
  assert.is(net.log.length, logged, "no response, no cookie");
  assert.is(b.endpoint.stats.dropped.stale, 1);
  assert.is(b.endpoint.stats.pendingSessions, 0);
  // A itself is still welcome.
  assert.ok(await delivers(net, a, b, "after the restart"));
  a.endpoint.close();
  b.endpoint.close();
});

test("fresh identities churn the bounded memory; an old initiation is stale anyway", async () => {
  const time = new VirtualTime();
  const net = new SimNet(time);
  const fresh = identities(15);
  const limits = { maxTimestamps: 50, globalRate: 1e6, globalBurst: 1e6, sourceRate: 1e6, sourceBurst: 1e6, maxPendingPerSource: 1e6, maxSessions: 1e6 };
  const b = at(net, fresh(), { host: "127.0.0.1", port: 7000 }, { limits });
  const victim = fresh();
  const old = new Initiation(victim, b.identity.x25519.publicKey, 1, time.now).packet;
  b.endpoint.receive(old, { host: "127.0.2.1", port: 7000 });
  assert.is(b.endpoint.stats.handshakesAnswered, 1);
  for (let i = 0; i < 500; i++) {
    b.endpoint.receive(new Initiation(fresh(), b.identity.x25519.publicKey, 2, time.now).packet, { host: `127.0.${3 + (i >> 8)}.${i & 255}`, port: 7000 });
    await time.advance(TIMESTAMP_WINDOW / 400);
  }
  assert.ok(b.endpoint.stats.timestamps <= 50, `remembered ${b.endpoint.stats.timestamps}`);
  b.endpoint.receive(old, { host: "127.0.2.1", port: 7001 });
  assert.is(b.endpoint.stats.dropped.stale, 1, "forgotten, but outside the window");
  assertMemoryBounded("replay memory");
  b.endpoint.close();
});

test.run();
