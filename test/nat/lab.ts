// A NAT lab made of Linux network namespaces, for tests that run the real CLI across real NATs.
//
// The "internet" is a bridge in a namespace of its own, on 198.18.0.0/15 (RFC 2544's benchmarking
// range, never routed anywhere). Public hosts sit on it; NAT routers are namespaces with one leg on
// it (or on another router's LAN: double NAT) and a LAN bridge behind, doing what home routers do:
// `iptables -t nat -A POSTROUTING -o eth0 -j MASQUERADE`, with `--random-fully` for a symmetric NAT.
//
// Containment: every namespace is named `chatlab-<pid>-<name>`, and every interface, bridge, route,
// sysctl and iptables rule is created INSIDE one of them (`ip -n NS …`, `ip netns exec NS …`; a veth
// pair is created in one lab namespace with its peer placed straight into another), so the host's
// own interfaces, routes and firewall are never touched. Interface names inside a lab namespace
// (eth0, lan, br0, w3) cannot clash with the host's: namespaces have separate name spaces for links.
// Deleting the namespaces removes all of it; that happens in destroy(), on process exit and on
// SIGINT/SIGTERM/SIGHUP, and a later lab sweeps namespaces left by a lab whose process is gone.
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from "node:child_process";
import { existsSync } from "node:fs";

/** cone: MASQUERADE keeps the source port (one mapping for every destination). symmetric: a new
 * random port per destination (`--random-fully`). Both filter by remote address and port. */
export type Mapping = "cone" | "symmetric";

export interface Netns {
  readonly name: string;
  /** The namespace, for `ip netns exec`. */
  readonly ns: string;
}
export interface Router extends Netns {
  readonly mapping: Mapping;
  /** Its outside address (on the wan, or on the LAN of the router it sits behind). */
  readonly outsideIp: string;
  /** Its LAN address, the default gateway of the hosts behind it. */
  readonly lanIp: string;
  readonly lanBase: string;
  hosts: number;
}
export interface Host extends Netns {
  readonly ip: string;
  readonly router: Router | undefined;
}

export interface RouterOptions {
  mapping: Mapping;
  /** Put the router behind this one (its outside leg on that router's LAN): double NAT. */
  behind?: Router;
  /** A carrier's router (CGNAT): its LAN is in 100.64.0.0/10 (RFC 6598), not 192.168.0.0/16. */
  carrier?: boolean;
  /** UDP mappings expire after this many idle seconds (conntrack's timeouts, in this router only). */
  udpTimeoutS?: number;
}

const PREFIX = "chatlab-";
const WAN_MASK = 15;

/** Runs `ip ARGS` (or another tool), throwing with its stderr if it fails: the lab fails loudly. */
function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.error) throw new Error(`NAT lab: cannot run "${cmd}": ${r.error.message}`);
  if (r.status !== 0) throw new Error(`NAT lab: "${cmd} ${args.join(" ")}" failed: ${r.stderr.trim()}`);
  return r.stdout;
}

/** Kills every process of the group led by `pid` (each lab process leads one: see spawn). */
function killGroup(pid: number, signal = "KILL"): void {
  spawnSync("kill", [`-${signal}`, "--", `-${pid}`], { stdio: "ignore" });
}

/** Pids of the processes inside namespace `ns` (to kill stragglers before deleting it). */
function pidsIn(ns: string): number[] {
  const r = spawnSync("ip", ["netns", "pids", ns], { encoding: "utf8" });
  return (r.stdout ?? "").split("\n").filter(Boolean).map(Number);
}

function deleteNamespace(ns: string): void {
  for (const pid of pidsIn(ns)) spawnSync("kill", ["-KILL", String(pid)], { stdio: "ignore" });
  spawnSync("ip", ["netns", "del", ns], { stdio: "ignore" });
}

/** Namespaces of earlier labs whose process is gone (killed with SIGKILL, say): removed first. */
function sweepOrphans(): void {
  for (const line of sh("ip", ["netns", "list"]).split("\n")) {
    const m = /^(chatlab-(\d+)-\S+)/.exec(line);
    if (m && !existsSync(`/proc/${m[2]}`)) deleteNamespace(m[1]!);
  }
}

export class NatLab {
  readonly prefix = `${PREFIX}${process.pid}`;
  /** `iptables` or `iptables-legacy`: whichever can use the nat table in a namespace here. */
  readonly iptables: string;
  private readonly _namespaces: string[] = [];
  private readonly _children = new Set<ChildProcess>();
  private readonly _wan: string;
  private _wanNext = 2;
  private _lanNext = 1;
  private _linkNext = 0;
  private _destroyed = false;
  private readonly _onExit = () => this.destroy();
  private readonly _onSignal = (sig: NodeJS.Signals) => {
    this.destroy();
    process.exit(sig === "SIGINT" ? 130 : 143);
  };

  /** Builds the wan. Throws (never skips) when this machine cannot make namespaces and NATs. */
  constructor() {
    if (process.getuid?.() !== 0) throw new Error("NAT lab: needs root (network namespaces and iptables)");
    sh("ip", ["-V"]);
    sweepOrphans();
    process.on("exit", this._onExit);
    for (const s of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(s, this._onSignal);
    try {
      this._wan = this._namespace("wan");
      sh("ip", ["-n", this._wan, "link", "add", "name", "br0", "type", "bridge"]);
      sh("ip", ["-n", this._wan, "link", "set", "br0", "up"]);
      this.iptables = chooseIptables(this._wan);
    } catch (err) {
      this.destroy();
      throw err;
    }
  }

  /** A host directly on the internet, at 198.18.N.1. */
  publicHost(name: string): Host {
    const ns = this._namespace(name);
    const ip = this._wanAddress();
    this._plugWan(ns, ip);
    return { name, ns, ip, router: undefined };
  }

  /** A NAT router: its outside leg on the wan (or behind `opts.behind`), a LAN bridge behind it. */
  router(name: string, opts: RouterOptions): Router {
    const ns = this._namespace(name);
    const lanBase = opts.carrier ? `100.64.${this._lanNext++}` : `192.168.${this._lanNext++}`;
    let outsideIp: string;
    if (opts.behind) {
      outsideIp = this._plugLan(opts.behind, ns);
    } else {
      outsideIp = this._wanAddress();
      this._plugWan(ns, outsideIp);
    }
    const lanIp = `${lanBase}.1`;
    // A bridge takes the lowest MAC of its ports unless given one, so plugging a host in can change
    // the gateway's MAC under the other hosts' ARP entries (measured: twice while plugging 6).
    const mac = `02:00:00:00:${hex2(this._lanNext >> 8)}:${hex2(this._lanNext)}`;
    sh("ip", ["-n", ns, "link", "add", "name", "lan", "address", mac, "type", "bridge"]);
    sh("ip", ["-n", ns, "addr", "add", `${lanIp}/24`, "dev", "lan"]);
    sh("ip", ["-n", ns, "link", "set", "lan", "up"]);
    this._inNs(ns, "sysctl", ["-qw", "net.ipv4.ip_forward=1"]);
    const masquerade = ["-t", "nat", "-A", "POSTROUTING", "-o", "eth0", "-j", "MASQUERADE"];
    this._inNs(ns, this.iptables, opts.mapping === "symmetric" ? [...masquerade, "--random-fully"] : masquerade);
    // A home router forwards nothing new from outside to its LAN (replies to what left it only).
    this._inNs(ns, this.iptables, ["-A", "FORWARD", "-i", "eth0", "-m", "conntrack", "!", "--ctstate", "ESTABLISHED,RELATED", "-j", "DROP"]);
    // …and takes nothing new from outside for itself (OpenWrt's wan zone: input REJECT). Dropped in
    // the filter table, an unsolicited datagram's conntrack entry is never confirmed, so it cannot
    // take the port a LAN host's punch needs: the clash a bare Linux MASQUERADE box shows.
    this._inNs(ns, this.iptables, ["-A", "INPUT", "-i", "eth0", "-m", "conntrack", "!", "--ctstate", "ESTABLISHED,RELATED", "-j", "DROP"]);
    if (opts.udpTimeoutS !== undefined) {
      // These sysctls are per network namespace (measured: setting them in one lab namespace left
      // the host's and a sibling namespace's at 30 and 120), so only this router's mappings age fast.
      // Both: `_stream` applies once a flow has seen replies, which every mapping we care about has.
      const t = String(opts.udpTimeoutS);
      this._inNs(ns, "sysctl", ["-qw", `net.netfilter.nf_conntrack_udp_timeout=${t}`, `net.netfilter.nf_conntrack_udp_timeout_stream=${t}`]);
    }
    return { name, ns, mapping: opts.mapping, outsideIp, lanIp, lanBase, hosts: 0 };
  }

  /** A host on `router`'s LAN (192.168.K.10, .11, …; default route through the router). */
  host(name: string, router: Router): Host {
    const ns = this._namespace(name);
    const ip = this._plugLan(router, ns);
    return { name, ns, ip, router };
  }

  /**
   * Starts `cmd ARGS` inside `where`'s namespace, as the leader of a new process group (setsid),
   * so that kill() and destroy() end it with everything it started.
   */
  spawn(where: Netns, cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
    if (this._destroyed) throw new Error("NAT lab: already destroyed");
    const child = spawn("setsid", ["ip", "netns", "exec", where.ns, cmd, ...args], { stdio: ["pipe", "pipe", "pipe"], ...opts });
    this._children.add(child);
    child.on("exit", () => this._children.delete(child));
    return child;
  }

  /** Kills a process started by spawn() with its whole process group (a relay dying, say). */
  kill(child: ChildProcess, signal = "KILL"): void {
    if (child.pid !== undefined) killGroup(child.pid, signal);
  }

  /** Runs a command to completion inside a namespace (synchronously) and returns its stdout. */
  exec(where: Netns, cmd: string, args: string[]): string {
    return this._inNs(where.ns, cmd, args);
  }

  /** Kills every process started here and deletes every namespace (idempotent; synchronous). */
  destroy(): void {
    if (this._destroyed) return;
    this._destroyed = true;
    for (const child of this._children) if (child.pid !== undefined) killGroup(child.pid);
    this._children.clear();
    for (const ns of this._namespaces.reverse()) deleteNamespace(ns);
    process.off("exit", this._onExit);
    for (const s of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.off(s, this._onSignal);
  }

  private _namespace(name: string): string {
    if (!/^[a-z0-9-]{1,32}$/.test(name)) throw new RangeError(`NAT lab: bad name "${name}"`);
    const ns = `${this.prefix}-${name}`;
    sh("ip", ["netns", "add", ns]);
    this._namespaces.push(ns);
    sh("ip", ["-n", ns, "link", "set", "lo", "up"]);
    return ns;
  }

  /**
   * The next address on the wan, each in a /24 of its own (198.18.N.1), as hosts of different
   * networks are on the Internet: a DHT counts votes and queries once per /24 (BEP 42, libtorrent's
   * restrict_search_ips), so hosts of one /24 would count as one.
   */
  private _wanAddress(): string {
    if (this._wanNext > 254) throw new RangeError("NAT lab: the wan is full");
    return `198.18.${this._wanNext++}.1`;
  }

  /** A veth from the wan bridge to eth0 in `ns`, which gets `ip` on 198.18.0.0/15. */
  private _plugWan(ns: string, ip: string): void {
    const port = `w${this._linkNext++}`;
    sh("ip", ["-n", this._wan, "link", "add", "name", port, "type", "veth", "peer", "name", "eth0", "netns", ns]);
    sh("ip", ["-n", this._wan, "link", "set", port, "master", "br0", "up"]);
    sh("ip", ["-n", ns, "addr", "add", `${ip}/${WAN_MASK}`, "dev", "eth0"]);
    sh("ip", ["-n", ns, "link", "set", "eth0", "up"]);
  }

  /** A veth from `router`'s LAN bridge to eth0 in `ns`; returns its address (default via the router). */
  private _plugLan(router: Router, ns: string): string {
    const ip = `${router.lanBase}.${10 + router.hosts++}`;
    const port = `l${this._linkNext++}`;
    sh("ip", ["-n", router.ns, "link", "add", "name", port, "type", "veth", "peer", "name", "eth0", "netns", ns]);
    sh("ip", ["-n", router.ns, "link", "set", port, "master", "lan", "up"]);
    sh("ip", ["-n", ns, "addr", "add", `${ip}/24`, "dev", "eth0"]);
    sh("ip", ["-n", ns, "link", "set", "eth0", "up"]);
    sh("ip", ["-n", ns, "route", "add", "default", "via", router.lanIp]);
    return ip;
  }

  private _inNs(ns: string, cmd: string, args: string[]): string {
    return sh("ip", ["netns", "exec", ns, cmd, ...args]);
  }
}

const hex2 = (n: number) => (n & 255).toString(16).padStart(2, "0");

/**
 * Debian's `iptables` is the nft flavour; some kernels or containers only take the legacy one.
 * Whichever lists the nat table inside a lab namespace is used; neither: the lab cannot run.
 */
function chooseIptables(ns: string): string {
  const errors: string[] = [];
  for (const cmd of ["iptables", "iptables-legacy"]) {
    const r = spawnSync("ip", ["netns", "exec", ns, cmd, "-t", "nat", "-L", "-n"], { encoding: "utf8" });
    if (r.status === 0) return cmd;
    errors.push(`${cmd}: ${(r.stderr || r.error?.message || "").trim()}`);
  }
  throw new Error(`NAT lab: no iptables can use the nat table in a namespace (${errors.join("; ")})`);
}
