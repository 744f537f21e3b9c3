// The responder's side of PROTOCOL §6: an initiation, direct or relayed through one of our relays
// (PROTOCOL §9), becomes a pending session. Cheap decisions come first — admission and its cookies
// under load (admission.ts, cookie.ts), room in the session table (fairness.ts) — so that a flood
// never reaches the four X25519 operations of a handshake, and a session makes way for a newcomer
// only once the newcomer has authenticated.
import { TYPE_INITIATION_COOKIE, type WireLimits } from "./constants.ts";
import type { Admission } from "./admission.ts";
import type { CookieJar } from "./cookie.ts";
import type { SourceShares } from "./fairness.ts";
import { Responder, type WireIdentity } from "./handshake.ts";
import type { IndexTable } from "./index_table.ts";
import type { InitiationPacket } from "./packets.ts";
import { direct } from "./path.ts";
import { type Arrival, peerAddress, type Roaming } from "./roaming.ts";
import type { Sender } from "./send.ts";
import { Session } from "./session.ts";
import type { Sessions } from "./sessions.ts";
import { type Counters, drop } from "./stats.ts";
import { toHex } from "./_bytes.ts";

export interface AcceptorOptions {
  readonly identity: WireIdentity;
  readonly clock: () => number;
  readonly limits: WireLimits;
  readonly counters: Counters;
  readonly slots: IndexTable;
  readonly admission: Admission;
  readonly cookies: CookieJar;
  readonly shares: SourceShares;
  readonly sender: Sender;
  readonly sessions: Sessions;
  readonly roaming: Roaming;
}

export class Acceptor {
  readonly #identity: WireIdentity;
  readonly #clock: () => number;
  readonly #limits: WireLimits;
  readonly #counters: Counters;
  readonly #slots: IndexTable;
  readonly #admission: Admission;
  readonly #cookies: CookieJar;
  readonly #shares: SourceShares;
  readonly #sender: Sender;
  readonly #sessions: Sessions;
  readonly #roaming: Roaming;

  constructor(options: AcceptorOptions) {
    this.#identity = options.identity;
    this.#clock = options.clock;
    this.#limits = options.limits;
    this.#counters = options.counters;
    this.#slots = options.slots;
    this.#admission = options.admission;
    this.#cookies = options.cookies;
    this.#shares = options.shares;
    this.#sender = options.sender;
    this.#sessions = options.sessions;
    this.#roaming = options.roaming;
  }

  onInitiation(packet: InitiationPacket, arrival: Arrival): void {
    // A relayed initiation only through a relay we registered with: nobody else may make us send.
    if (arrival.via === "relayed" && !this.#roaming.isOurRelay(arrival.relay)) return drop(this.#counters, "relay");
    const from = peerAddress(arrival);
    // Cheap decisions first, so a flood never reaches the four X25519 operations of a handshake.
    const now = this.#clock();
    const proven = packet.type === TYPE_INITIATION_COOKIE && this.#cookies.check(packet.bytes, from, now);
    const decision = this.#admission.decide(from, proven, this.#sessions.count, now);
    if (decision === "cookie") {
      // A cookie proves a direct address: a relayed sender cannot be asked for one (docs §8).
      if (arrival.via === "relayed") return drop(this.#counters, "rateLimited");
      this.#counters.cookiesSent++;
      return this.#sender.transmit(this.#cookies.reply(packet.bytes, from, now), direct(from));
    }
    if (decision !== "read") return drop(this.#counters, decision);
    const full = () => this.#sessions.count >= this.#limits.maxSessions;
    if (this.#shares.victimFor(from.host, full()) === null) return drop(this.#counters, "busy");

    const responder = Responder.read(this.#identity, packet);
    if (typeof responder === "string") return drop(this.#counters, responder);
    const key = toHex(responder.peer);
    const stale = this.#admission.fresh(key, responder.timestamp, now);
    if (stale) {
      responder.erase();
      return drop(this.#counters, stale);
    }
    // Authenticated and fresh: only now may it take the place of a session (fairness.ts).
    const victim = this.#shares.victimFor(from.host, full());
    if (victim) {
      this.#counters.evictions++;
      this.#sessions.close(victim, "SESSION_CLOSED");
    }
    const index = this.#slots.newIndex();
    const { packet: response, keys } = responder.respond(index);
    this.#admission.accept(key, responder.timestamp, now);
    const session = new Session({
      localIndex: index,
      remoteIndex: responder.remoteIndex,
      peer: responder.peer,
      initiator: false,
      keys,
      address: from,
      // PROTOCOL §9: answer through the relay it came by, and directly to the sender (the punch).
      path: arrival.via === "direct" ? direct(from) : { via: "relay-back", relay: arrival.relay, peer: from },
      ...(arrival.via === "relayed" ? { punch: [from] } : {}),
      now,
      inbox: this.#sessions.newInbox(from.host),
    });
    this.#sessions.addPending(session, from.host);
    this.#counters.handshakesAnswered++;
    this.#sender.sendOnSession(session, response);
  }
}
