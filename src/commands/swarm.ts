// `chat swarm --nodes N [--port BASE]`: N DHT nodes on 127.0.0.1 in this process, joined to each
// other, each a relay (PROTOCOL §9). Prints ONE line {"type":"swarm","nodes":N,"bootstrap":[…]} once ready, then stays up
// until SIGINT or SIGTERM: a private network for scripts, tests and the demo.
import { check, numeric, object, optional, withDefault } from "../_check.ts";
import { createTestnet } from "../dht/testnet.ts";
import type { Transport } from "../dht/transport.ts";
import { RelayingTransport } from "../relaying.ts";
import { ChatError } from "../errors.ts";
import { formatAddress } from "./_dht.ts";
import { onSignal, print } from "./_io.ts";

const MAX_NODES = 10_000;
const Options = object({
  nodes: withDefault(numeric({ int: true, min: 1, max: MAX_NODES }), 20),
  port: optional(numeric({ int: true, min: 1, max: 65535 })),
});

export async function run(_args: string[], raw: Record<string, unknown>): Promise<void> {
  const opts = check(Options, raw);
  if (opts.port !== undefined && opts.port + opts.nodes - 1 > 65535) {
    throw ChatError.input("BAD_OPTION", `Ports ${opts.port}…${opts.port + opts.nodes - 1} do not fit below 65536`);
  }
  const stop = onSignal();
  let swarm;
  try {
    const wrap = (socket: Transport) => new RelayingTransport(socket);
    swarm = await createTestnet(opts.nodes, { wrap, ...(opts.port === undefined ? {} : { basePort: opts.port }) });
  } catch (err) {
    stop.off();
    throw ChatError.input("CANNOT_BIND", `Cannot start ${opts.nodes} nodes: ${(err as Error).message}`,
      "Choose another --port, or omit it for free ports");
  }
  try {
    print({ type: "swarm", nodes: opts.nodes, bootstrap: swarm.bootstrap.map(formatAddress) });
    await stop.signal;
  } finally {
    stop.off();
    swarm.destroy();
  }
}
