// Ready-made networks for tests, the demo and benchmarks: `createTestnet` starts n real nodes on
// 127.0.0.1 UDP, bootstrapped to each other; `createSimnet` builds n nodes on the in-memory
// network with their routing tables filled directly (what a network converges to after running
// a while), so that 100,000 nodes are ready in seconds.
import { ID_LENGTH, K } from "./constants.ts";
import { DhtNode, type DhtOptions } from "./node.ts";
import { seededRandom, SimNetwork, type SimOptions, SIM_PORT } from "./sim.ts";
import { compareDistance, type Contact } from "./table.ts";
import type { Address, Transport } from "./transport.ts";
import { UdpTransport } from "./udp.ts";

type NodeOptions = Omit<DhtOptions, "transport" | "bootstrap" | "clock" | "id" | "state">;
/** Wraps each node's socket (a caller above the DHT adds relaying this way). */
type Wrap = { wrap?: (transport: Transport) => Transport };

/** Binds a UDP socket and starts a DHT node on it (call `bootstrap()` to join). */
export async function startNode(opts: Omit<DhtOptions, "transport"> & { port?: number; host?: string } & Wrap = {}): Promise<DhtNode> {
  const { port, host, wrap, ...rest } = opts;
  const socket = await UdpTransport.bind({ ...(port === undefined ? {} : { port }), ...(host === undefined ? {} : { host }) });
  return new DhtNode({ ...rest, transport: wrap ? wrap(socket) : socket });
}

export interface Testnet {
  nodes: DhtNode[];
  /** Addresses of its first nodes, to pass as `bootstrap` to a node joining it. */
  bootstrap: Address[];
  destroy(): void;
}

/** How many testnet nodes serve as the bootstrap list. */
const TESTNET_BOOTSTRAP = 4;

/**
 * n DHT nodes on 127.0.0.1 (or `host`) in this process. Every node joins through the first few, then looks
 * itself up again and refreshes its buckets (BEP 5), so that early nodes also learn of late ones. `basePort` gives the ports
 * basePort, basePort + 1, … (default: free ports).
 */
export async function createTestnet(n: number, opts: NodeOptions & { basePort?: number; host?: string } & Wrap = {}): Promise<Testnet> {
  const { basePort, host = "127.0.0.1", wrap, ...nodeOpts } = opts;
  const transports: UdpTransport[] = [];
  const nodes: DhtNode[] = [];
  const destroy = () => {
    for (const node of nodes) node.destroy();
    for (const t of transports.slice(nodes.length)) t.close();
  };
  try {
    for (let i = 0; i < n; i++) {
      transports.push(await UdpTransport.bind({ host, port: basePort === undefined ? 0 : basePort + i }));
    }
    const bootstrap = transports.slice(0, TESTNET_BOOTSTRAP).map((t) => t.address());
    for (const socket of transports) nodes.push(new DhtNode({ ...nodeOpts, transport: wrap ? wrap(socket) : socket, bootstrap }));
    // Once all have joined, each looks itself up again (early ones met few nodes), then refreshes
    // its buckets twice: the first pass splits full buckets near its id, the second fills them.
    await inBatches(nodes, 32, (node) => node.bootstrap());
    await inBatches(nodes, 32, (node) => node.bootstrap());
    await inBatches(nodes, 32, (node) => node.refresh());
    await inBatches(nodes, 32, (node) => node.refresh());
    return { nodes, bootstrap, destroy };
  } catch (err) {
    destroy();
    throw err;
  }
}

async function inBatches<T>(items: T[], size: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
}

export interface Simnet {
  net: SimNetwork;
  nodes: DhtNode[];
  /** Every node's contact, sorted by id (to find the true closest nodes of a target). */
  sorted: Contact[];
  destroy(): void;
}

/**
 * n nodes on a simulated network with ids drawn from the seed. Each routing table gets up to k
 * random contacts from every bucket range: the ids sharing exactly d leading bits with the node,
 * for each d, as a network converges to after running a while. Maintenance is off by default.
 * With `dead`, that fraction of the contacts drawn are departed nodes (their address is silent),
 * as in real tables; `sorted` lists the live nodes only.
 */
export function createSimnet(n: number, opts: SimOptions & { node?: NodeOptions; dead?: number } = {}): Simnet {
  const net = new SimNetwork(opts);
  const random = seededRandom((opts.seed ?? 1) ^ 0x5eed);
  const k = opts.node?.k ?? K;
  const nodes: DhtNode[] = [];
  const contacts: Contact[] = [];
  for (let i = 0; i < n; i++) {
    const id = new Uint8Array(ID_LENGTH);
    for (let j = 0; j < ID_LENGTH; j++) id[j] = Math.floor(random() * 256);
    const transport = net.transport();
    nodes.push(new DhtNode({ maintenance: false, ...opts.node, transport, clock: net.clock, id, bootstrap: false }));
    contacts.push({ id, host: transport.host, port: SIM_PORT, seen: 0, fails: 0 });
  }
  const sorted = [...contacts].sort((a, b) => compareBytes(a.id, b.id));
  const ghosts = Math.round(n * (opts.dead ?? 0) / (1 - (opts.dead ?? 0)));
  for (let i = 0; i < ghosts; i++) {
    const id = new Uint8Array(ID_LENGTH);
    for (let j = 0; j < ID_LENGTH; j++) id[j] = Math.floor(random() * 256);
    // An address after the live ones that no transport ever takes: datagrams to it vanish.
    contacts.push({ id, host: `10.${128 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`, port: SIM_PORT, seen: 0, fails: 0 });
  }
  const everyone = ghosts ? [...contacts].sort((a, b) => compareBytes(a.id, b.id)) : sorted;
  const pick = (lo: number, hi: number): Contact[] => {
    if (hi - lo <= k) return everyone.slice(lo, hi);
    const chosen = new Set<number>();
    while (chosen.size < k) chosen.add(lo + Math.floor(random() * (hi - lo)));
    return [...chosen].map((i) => everyone[i]!);
  };
  for (const node of nodes) {
    const id = node.id;
    for (let d = 0; d < ID_LENGTH * 8; d++) {
      const far = flipBit(id, d);
      for (const c of pick(lowerBound(everyone, far, d + 1), upperBound(everyone, far, d + 1))) node.table.insert(c);
      // Nobody else shares d + 1 leading bits with us: every deeper range is empty.
      if (upperBound(everyone, id, d + 1) - lowerBound(everyone, id, d + 1) <= 1) break;
    }
  }
  return { net, nodes, sorted, destroy: () => { for (const node of nodes) node.destroy(); } };
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

/** Compares the first `bits` bits of a and b. */
function comparePrefix(a: Uint8Array, b: Uint8Array, bits: number): number {
  const bytes = bits >> 3;
  for (let i = 0; i < bytes; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  const rest = bits & 7;
  if (!rest) return 0;
  const mask = (0xff00 >> rest) & 0xff;
  return (a[bytes]! & mask) - (b[bytes]! & mask);
}

function lowerBound(sorted: Contact[], prefix: Uint8Array, bits: number): number {
  let lo = 0, hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (comparePrefix(sorted[mid]!.id, prefix, bits) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function upperBound(sorted: Contact[], prefix: Uint8Array, bits: number): number {
  let lo = 0, hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (comparePrefix(sorted[mid]!.id, prefix, bits) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function flipBit(id: Uint8Array, bit: number): Uint8Array {
  const out = id.slice();
  out[bit >> 3] = out[bit >> 3]! ^ (0x80 >> (bit & 7));
  return out;
}

/** The node of `sorted` closest to `target` by XOR distance. */
export function trueClosest(sorted: readonly Contact[], target: Uint8Array): Contact {
  let best = sorted[0]!;
  for (const c of sorted) if (compareDistance(c.id, best.id, target) < 0) best = c;
  return best;
}
