// `chat dht ping|find-node|get|put`: the DHT by hand.
//   chat dht ping HOST:PORT
//   chat dht find-node [TARGET]                      (40 hex; default: a random id)
//   chat dht get TARGET | PUBKEY [--salt TEXT]       (40 hex target, or a public key for a mutable item)
//   chat dht put VALUE [--identity FILE] [--seq N] [--salt TEXT] [--cas N]   (mutable, signed)
//   chat dht put VALUE --immutable
// Each prints one JSON object: the item or nodes, the nodes that answered, and query counts.
import { ed25519 } from "@noble/curves/ed25519.js";
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import { boolean, check, numeric, object, optional, text, type Infer } from "../_check.ts";
import { wipeIdentity } from "../crypto/identity.ts";
import { encode } from "../bencode.ts";
import { bep44SignedBuffer, mutableTarget } from "../crypto/record.ts";
import type { DhtNode } from "../dht/node.ts";
import { ChatError } from "../errors.ts";
import { nodeJson, openNode, saveState, statsJson, valueJson, withTimeout } from "./_dht.ts";
import { loadIdentity } from "./_identity.ts";
import { PEER_OPTIONS, resolveKey } from "./_peer.ts";
import { parseHostPorts, print } from "./_io.ts";

const OPTIONS = {
  ...PEER_OPTIONS,
  salt: optional(text),
  seq: optional(numeric({ int: true, min: 0 })),
  cas: optional(numeric({ int: true, min: 0 })),
  immutable: optional(boolean),
};
type Options = Infer<typeof OPTIONS>;
const Options = object(OPTIONS);

const USAGE = "Usage: chat dht ping HOST:PORT | find-node [TARGET] | get TARGET|PUBKEY [--salt S] | put VALUE [--immutable | --identity FILE [--seq N] [--salt S]]";
const utf8 = new TextEncoder();

export async function run(args: string[], raw: Record<string, unknown>): Promise<number> {
  const opts = check(Options, raw);
  const [verb, arg] = args;
  const action = verb === "ping" ? ping : verb === "find-node" ? findNode : verb === "get" ? get : verb === "put" ? put : null;
  if (!action) throw ChatError.input("USAGE", verb ? `Unknown dht command "${verb}"` : "No dht command given", USAGE);
  const node = await openNode(opts, true);
  try {
    return await withTimeout(opts.timeout, `dht ${verb}`, action(node, arg, opts));
  } finally {
    saveState(opts.stateDir, node);
    node.destroy();
  }
}

async function ping(node: DhtNode, arg: string | undefined): Promise<number> {
  if (!arg) throw ChatError.input("USAGE", "dht ping needs HOST:PORT", USAGE);
  const [to] = parseHostPorts(arg, "node address");
  try {
    const { id, rtt } = await node.ping(to!);
    print({ address: arg, id: bytesToHex(id), rtt });
    return 0;
  } catch {
    throw ChatError.failed("NO_ANSWER", `No answer from "${arg}"`, "Check the address and that the node is running");
  }
}

async function findNode(node: DhtNode, arg: string | undefined): Promise<number> {
  const target = arg === undefined ? crypto.getRandomValues(new Uint8Array(20)) : parseTarget(arg);
  await node.bootstrap();
  const res = await node.findNode(target);
  print({ target: bytesToHex(target), nodes: res.nodes.map(nodeJson), stats: statsJson(res.stats) });
  return res.nodes.length ? 0 : 1;
}

async function get(node: DhtNode, arg: string | undefined, opts: Options): Promise<number> {
  if (!arg) throw ChatError.input("USAGE", "dht get needs a target (40 hex) or a public key", USAGE);
  const salt = opts.salt === undefined ? undefined : utf8.encode(opts.salt);
  const target = /^[0-9a-fA-F]{40}$/.test(arg) ? hexToBytes(arg.toLowerCase()) : mutableTarget(resolveKey(arg, opts.stateDir), salt);
  await node.bootstrap();
  const res = await node.get(target, salt ? { salt } : {});
  const item = res.item;
  print({
    found: item !== null,
    target: bytesToHex(target),
    ...(item ? {
      value: valueJson(item.v),
      v: bytesToHex(item.raw),
      ...(item.k ? { k: bytesToHex(item.k), seq: String(item.seq), sig: bytesToHex(item.sig!) } : {}),
      ...(opts.salt === undefined ? {} : { salt: opts.salt }),
    } : {}),
    from: res.from.map(nodeJson),
    nodes: res.nodes.map(nodeJson),
    rejected: res.rejected,
    stats: statsJson(res.stats),
  });
  return item ? 0 : 1;
}

async function put(node: DhtNode, arg: string | undefined, opts: Options): Promise<number> {
  if (arg === undefined) throw ChatError.input("USAGE", "dht put needs a VALUE", USAGE);
  const v = utf8.encode(arg);
  let item;
  if (opts.immutable) {
    item = { v };
  } else {
    const identity = await loadIdentity(opts.identity, { passphraseEnv: opts.passphraseEnv });
    const salt = opts.salt === undefined ? undefined : utf8.encode(opts.salt);
    // Unix seconds make a seq that grows from one put to the next without remembering the last one.
    const seq = opts.seq ?? Math.floor(Date.now() / 1000);
    const sig = ed25519.sign(bep44SignedBuffer({ seq, v: encode(v), salt }), identity.seed);
    wipeIdentity(identity);
    item = { v, k: identity.publicKey, seq, sig, ...(salt ? { salt } : {}), ...(opts.cas === undefined ? {} : { cas: opts.cas }) };
  }
  await node.bootstrap();
  let res;
  try {
    res = await node.put(item);
  } catch (err) {
    if (err instanceof RangeError) throw ChatError.input("BAD_ITEM", err.message);
    throw err;
  }
  print({
    target: bytesToHex(res.target),
    ...("seq" in item ? { k: bytesToHex(item.k), seq: item.seq } : {}),
    stored: res.stored.map(nodeJson),
    errors: res.errors.map((e) => ({ ...nodeJson(e.node), code: e.code, message: e.message })),
    stats: statsJson(res.stats),
  });
  return res.stored.length ? 0 : 1;
}

function parseTarget(text: string): Uint8Array {
  if (!/^[0-9a-fA-F]{40}$/.test(text)) throw ChatError.input("BAD_TARGET", `Cannot parse target "${text}": expected 40 hex characters`);
  return hexToBytes(text.toLowerCase());
}
