// `chat demo`: the whole stack inside one process, on loopback, with nothing to set up. A private
// swarm of DHT nodes, two fresh identities; Alice listens and announces, Bob looks her up by
// public key and sends, Alice replies on the same session. Each step is one NDJSON line.
import { check, numeric, object, withDefault } from "../_check.ts";
import { formatPublicKey, generateIdentity } from "../crypto/identity.ts";
import { createTestnet, type Testnet } from "../dht/testnet.ts";
import { ChatError } from "../errors.ts";
import { Peer } from "../peer.ts";
import type { IncomingMessage } from "../wire/endpoint.ts";
import { log, print } from "./_io.ts";
import { formatAddress } from "./_dht.ts";

const Options = object({ nodes: withDefault(numeric({ int: true, min: 8, max: 2000 }), 50) });
const MESSAGES = ["hello Alice, it's Bob", "this went through a DHT that cannot read it", "and a Noise IK session with fresh keys"];

export async function run(_args: string[], raw: Record<string, unknown>): Promise<void> {
  const { nodes } = check(Options, raw);
  const started = performance.now();
  let last = started;
  const step = (name: string, fields: Record<string, unknown>) => {
    const now = performance.now();
    print({ step: name, ...fields, ms: Math.round(now - last) });
    last = now;
  };

  let swarm: Testnet | undefined;
  const peers: Peer[] = [];
  try {
    swarm = await createTestnet(nodes);
    step("swarm", { nodes, bootstrap: swarm.bootstrap.map(formatAddress) });

    const [alice, bob] = await Promise.all([generateIdentity(), generateIdentity()].map(async (identity) => {
      const peer = await Peer.open({ identity, host: "127.0.0.1", bootstrap: swarm!.bootstrap });
      peers.push(peer);
      await peer.bootstrap();
      return peer;
    })) as [Peer, Peer];
    step("identities", { alice: alice.publicKey, bob: bob.publicKey });

    const inboxAlice = alice.messages(), inboxBob = bob.messages();
    const announced = await alice.keepAnnounced();
    step("announced", { who: "alice", period: announced.period, stored: announced.stored, address: formatAddress(alice.address()) });

    const found = await bob.lookup(alice.publicKey);
    if (!found.found) throw ChatError.failed("NOT_FOUND", "Bob could not find Alice's record");
    step("lookup", { who: "bob", found: found.found, addresses: found.addresses.map(formatAddress), queried: found.queried });

    for (const text of MESSAGES) {
      // A message is acked once the receiver takes it: Alice reads while Bob sends.
      const [sent, got] = await Promise.all([bob.send(alice.publicKey, text, { address: found.addresses[0]! }), next(inboxAlice)]);
      step("message", { from: "bob", to: "alice", text: got.text, rttMs: sent.rttMs, authenticated: formatPublicKey(got.from) === bob.publicKey });
    }

    const [reply, back] = await Promise.all([alice.reply(bob.identity.publicKey, "hi Bob! got all three"), next(inboxBob)]);
    step("reply", { from: "alice", to: "bob", text: back.text, rttMs: reply.rttMs, authenticated: formatPublicKey(back.from) === alice.publicKey });

    const total = Math.round(performance.now() - started);
    log(`\nchat demo: ${nodes} DHT nodes on 127.0.0.1, two fresh identities.`);
    log(`Alice published an encrypted record under a key blinded for this hour; Bob found it by her public key`);
    log(`(${found.queried} DHT nodes queried, none learned whom he looked for), opened a Noise IK session,`);
    log(`delivered ${MESSAGES.length} messages and got a reply on the same session. ${total} ms in all.`);
  } finally {
    for (const p of peers) p.close();
    swarm?.destroy();
  }
}

async function next(inbox: AsyncIterator<IncomingMessage>): Promise<IncomingMessage> {
  const r = await inbox.next();
  if (r.done) throw ChatError.failed("CLOSED", "The peer closed before the message arrived");
  return r.value;
}
