// Fair shares of the session table among the sources that open sessions to us (docs/PROTOCOL.md
// §8). Identities are free, addresses are not: a source IP and its /24 (IPv4) or /48 (IPv6) may
// hold only so many sessions, and when a cap or the whole table is reached, a newcomer takes the
// place of the least recently active session of its own source, or of the heaviest group — never
// refused while an idle session of the heaviest source could make way.
import type { Session } from "./session.ts";

/** The group of a source IP: its /24 (IPv4, also v4-mapped IPv6) or its /48 (IPv6). */
export function groupOf(host: string): string {
  const v4 = /^(?:::ffff:)?(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.\d{1,3}$/i.exec(host);
  if (v4) return `${v4[1]}.${v4[2]}.${v4[3]}.0/24`;
  if (!host.includes(":")) return host;
  const [head = "", tail = ""] = host.toLowerCase().split("::");
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const words = host.includes("::") ? [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right] : left;
  return `${words.slice(0, 3).map((w) => Number.parseInt(w || "0", 16).toString(16)).join(":")}::/48`;
}

export interface FairLimits {
  readonly maxSessionsPerSource: number;
  readonly maxSessionsPerGroup: number;
}

/** The sessions peers opened to us, by the source IP of their initiation and by its group. */
export class SourceShares {
  readonly #limits: FairLimits;
  readonly #origin = new Map<Session, { host: string; group: string }>();
  readonly #byHost = new Map<string, Set<Session>>();
  readonly #byGroup = new Map<string, Set<Session>>();

  constructor(limits: FairLimits) {
    this.#limits = limits;
  }

  add(session: Session, host: string): void {
    const group = groupOf(host);
    this.#origin.set(session, { host, group });
    add(this.#byHost, host, session);
    add(this.#byGroup, group, session);
  }

  remove(session: Session): void {
    const origin = this.#origin.get(session);
    if (!origin) return;
    this.#origin.delete(session);
    remove(this.#byHost, origin.host, session);
    remove(this.#byGroup, origin.group, session);
  }

  /** Sessions that count against `host`'s shares. */
  count(host: string): { host: number; group: number } {
    return { host: this.#byHost.get(host)?.size ?? 0, group: this.#byGroup.get(groupOf(host))?.size ?? 0 };
  }

  /**
   * The session that must make way for a newcomer from `host`: undefined when none needs to,
   * null when one should but none can (the table is full of sessions we opened ourselves).
   */
  victimFor(host: string, tableFull: boolean): Session | null | undefined {
    const own = this.#byHost.get(host);
    if (own && own.size >= this.#limits.maxSessionsPerSource) return leastRecent(own);
    const group = this.#byGroup.get(groupOf(host));
    if (group && group.size >= this.#limits.maxSessionsPerGroup) return leastRecent(group);
    if (!tableFull) return undefined;
    let heaviest: Set<Session> | undefined;
    for (const sessions of this.#byGroup.values()) if (!heaviest || sessions.size > heaviest.size) heaviest = sessions;
    return heaviest ? leastRecent(heaviest) : null;
  }
}

/** The session that has gone longest without an authenticated packet (pending ones included). */
function leastRecent(sessions: Set<Session>): Session | null {
  let victim: Session | null = null;
  for (const s of sessions) if (!victim || s.lastReceived < victim.lastReceived) victim = s;
  return victim;
}

function add(map: Map<string, Set<Session>>, key: string, session: Session): void {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(session);
}

function remove(map: Map<string, Set<Session>>, key: string, session: Session): void {
  const set = map.get(key);
  if (!set) return;
  set.delete(session);
  if (!set.size) map.delete(key);
}
