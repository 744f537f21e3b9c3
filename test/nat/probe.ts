// Bare UDP sockets in the lab (udp_probe.mjs), to measure what the NATs do without the chat stack:
// which source port the far side sees, what gets through, when a mapping expires.
import { isDeno } from "../_cli.ts";
import type { NatLab, Netns } from "./lab.ts";

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
