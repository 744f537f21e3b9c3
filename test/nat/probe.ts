// Bare UDP sockets in the lab (udp_probe.mjs), to measure what the NATs do without the chat stack:
// which source port the far side sees, what gets through, when a mapping expires.
import { isDeno } from "../_cli.ts";
import type { Host, NatLab, Netns } from "./lab.ts";

const SCRIPT = "test/nat/udp_probe.mjs";

export interface Datagram {
  from: string;
  text: string;
}

export class UdpProbe {
  readonly got: Datagram[] = [];
  readonly ready: Promise<void>;
  private readonly _write: (line: string) => void;

  constructor(lab: NatLab, where: Netns, port: number) {
    const [cmd, args] = isDeno ? ["node_modules/.bin/deno", ["run", "-A", SCRIPT]] : ["node", [SCRIPT]];
    const child = lab.spawn(where, cmd, [...args, String(port)]);
    this._write = (line) => child.stdin!.write(line + "\n");
    let buf = "";
    let bound: () => void = () => {};
    this.ready = new Promise((resolve) => (bound = resolve));
    child.stdout!.setEncoding("utf8").on("data", (d: string) => {
      buf += d;
      const lines = buf.split("\n");
      buf = lines.pop()!;
      for (const line of lines) {
        const j = JSON.parse(line) as { bound?: number } & Partial<Datagram>;
        if (j.bound !== undefined) bound();
        else this.got.push({ from: j.from!, text: j.text! });
      }
    });
  }

  send(to: string, text: string): void {
    this._write(`${to} ${text}`);
  }

  /** The source address of the datagram with `text` (undefined: it never arrived). */
  sourceOf(text: string): string | undefined {
    return this.got.find((d) => d.text === text)?.from;
  }

  received(text: string): boolean {
    return this.got.some((d) => d.text === text);
  }
}

export const portOf = (address: string | undefined): number | undefined => address === undefined ? undefined : Number(address.split(":")[1]);

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Measures the NATs in front of `cone`, `symmetric`, `double` (hosts behind such routers; `other`
 * behind another cone, `short` behind one whose mappings last `shortTimeoutS`) with bare UDP
 * between port 5000 of each and ports 7000…7003 of the public host `far`.
 */
export async function measureNats(lab: NatLab, at: { far: Host; cone: Host; symmetric: Host; double: Host; other: Host; short: Host }, shortTimeoutS: number) {
  const far = [7000, 7001, 7002, 7003].map((port) => new UdpProbe(lab, at.far, port));
  const farAt = (i: number) => `${at.far.ip}:${7000 + i}`;
  const [cone, sym, dbl, other, short] = [at.cone, at.symmetric, at.double, at.other, at.short].map((h) => new UdpProbe(lab, h, 5000)) as [UdpProbe, UdpProbe, UdpProbe, UdpProbe, UdpProbe];
  await Promise.all([...far, cone, sym, dbl, other, short].map((p) => p.ready));
  for (const [name, p] of [["cone", cone], ["symmetric", sym], ["double", dbl], ["short", short]] as const) {
    p.send(farAt(0), `${name} 0`);
    p.send(farAt(1), `${name} 1`);
  }
  await sleep(500);
  const seen = (name: string) => [far[0]!.sourceOf(`${name} 0`), far[1]!.sourceOf(`${name} 1`)];
  const coneNat = at.cone.router!.outsideIp, otherNat = at.other.router!.outsideIp;
  far[2]!.send(`${coneNat}:5000`, "unsolicited");
  far[0]!.send(`${coneNat}:5000`, "reply");
  // The clash: `other` writes to cone's public port before cone ever wrote to `other`.
  other.send(`${coneNat}:5000`, "inbound first");
  await sleep(300);
  cone.send(`${otherNat}:5000`, "outbound second");
  await sleep(300);
  cone.send(farAt(3), "a later destination");
  const short0 = far[0]!.sourceOf("short 0")!;
  far[0]!.send(short0, "soon after");
  await sleep(500);
  const conntrack = lab.exec(at.cone.router!, "cat", ["/proc/net/nf_conntrack"]);
  const clashed = new RegExp(`dst=${otherNat} sport=5000 dport=5000 .*src=${otherNat} dst=${coneNat} sport=5000 dport=(\\d+)`).exec(conntrack);
  await sleep((shortTimeoutS + 2) * 1000);
  far[0]!.send(short0, "after the timeout");
  await sleep(500);
  return {
    cone: seen("cone"), symmetric: seen("symmetric"), double: seen("double"),
    unsolicited: cone.received("unsolicited"), reply: cone.received("reply"),
    clashPort: clashed ? Number(clashed[1]) : undefined, punchArrived: other.received("outbound second"),
    laterDestination: far[3]!.sourceOf("a later destination"),
    shortAlive: short.received("soon after"), shortExpired: !short.received("after the timeout"),
  };
}
