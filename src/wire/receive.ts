// The receive path of data packets (as wireguard-go's receive.go): open the packet on the session
// its index names, follow the peer to the path it came by (roaming.ts), and act on the frame — a
// message fragment reassembled and handed to the mailbox, an ack that settles a message in flight,
// a close. A complete message is acked only once the application takes it (mailbox.ts).
import { decodeFrame, type MessageFrame } from "./frames.ts";
import type { IndexTable } from "./index_table.ts";
import type { Mailbox } from "./mailbox.ts";
import type { DataPacket } from "./packets.ts";
import { pathKind } from "./path.ts";
import type { Peers } from "./peer.ts";
import type { DeliveryRates } from "./ratelimit.ts";
import type { Arrival, Roaming } from "./roaming.ts";
import type { Sender } from "./send.ts";
import type { Session } from "./session.ts";
import type { Sessions } from "./sessions.ts";
import { type Counters, drop } from "./stats.ts";
import { idKey } from "./_bytes.ts";

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

export interface ReceiverOptions {
  readonly clock: () => number;
  readonly counters: Counters;
  readonly slots: IndexTable;
  readonly peers: Peers;
  readonly sender: Sender;
  readonly sessions: Sessions;
  readonly roaming: Roaming;
  readonly mailbox: Mailbox;
  readonly rates: DeliveryRates;
}

export class Receiver {
  readonly #clock: () => number;
  readonly #counters: Counters;
  readonly #slots: IndexTable;
  readonly #peers: Peers;
  readonly #sender: Sender;
  readonly #sessions: Sessions;
  readonly #roaming: Roaming;
  readonly #mailbox: Mailbox;
  readonly #rates: DeliveryRates;

  constructor(options: ReceiverOptions) {
    this.#clock = options.clock;
    this.#counters = options.counters;
    this.#slots = options.slots;
    this.#peers = options.peers;
    this.#sender = options.sender;
    this.#sessions = options.sessions;
    this.#roaming = options.roaming;
    this.#mailbox = options.mailbox;
    this.#rates = options.rates;
  }

  onData(packet: DataPacket, arrival: Arrival): void {
    const slot = this.#slots.get(packet.receiverIndex);
    if (!slot || !("session" in slot)) return drop(this.#counters, "unknownIndex");
    const session = slot.session;
    const path = this.#roaming.pathOf(arrival, session.relayPaths);
    if (!path) return drop(this.#counters, "relay");
    const plaintext = session.open(packet);
    if (plaintext === "replay" && path.via === "direct" && session.path.via !== "direct" && session.authentic(packet)) {
      // The direct copy of a packet that came relayed first: the direct path works (PROTOCOL §9).
      this.#roaming.usePath(session, path, arrival);
    }
    if (typeof plaintext === "string") return drop(this.#counters, plaintext);
    const now = this.#clock();
    if (!session.confirmed) this.#sessions.confirm(session);
    this.#roaming.usePath(session, path, arrival);
    const peer = this.#peers.get(session.peer, session.peerKey);
    const frame = decodeFrame(plaintext);
    if (frame?.type !== "keepalive") session.lastReceived = now;
    if (!frame) {
      drop(this.#counters, "frame");
    } else if (frame.type === "message") {
      this.#onMessageFrame(session, frame, now);
    } else if (frame.type === "ack") {
      const outgoing = peer?.outbox.inflight.get(idKey(frame.id));
      if (peer && outgoing) this.#sender.settle(peer, outgoing, path);
      else drop(this.#counters, "staleAck");
    } else if (frame.type === "close") {
      // `{"y":"x"}`: the peer closed; both sides erase the keys (PROTOCOL §6).
      this.#sessions.end(session, "SESSION_CLOSED");
      return;
    }
    if (session.alive) this.#sessions.arm(session);
  }

  #onMessageFrame(session: Session, frame: MessageFrame, now: number): void {
    const arrival = session.inbox.accept(frame, now);
    switch (arrival.kind) {
      case "duplicate":
        // The first ack may have been lost: acknowledge every duplicate (PROTOCOL §6).
        return this.#sender.ack(session, frame.id);
      case "held":
        return drop(this.#counters, "held");
      case "partial":
        return;
      case "refused":
      case "invalid":
        return drop(this.#counters, arrival.kind === "refused" ? "refused" : "frame");
      case "complete": {
        let text: string;
        try {
          text = strictUtf8.decode(arrival.data);
        } catch {
          return drop(this.#counters, "frame");
        }
        this.#deliver(session, frame.id.slice(), arrival.key, text, arrival.data.length, arrival.sentAt, now);
      }
    }
  }

  /**
   * Hands a complete message to the application; the ack goes when it is taken (mailbox.ts). Over
   * the peer's rate or without room in the queue it is neither delivered nor acked: the sender
   * retransmits, or reports failure (docs/PROTOCOL.md §8).
   */
  #deliver(session: Session, id: Uint8Array, key: string, text: string, bytes: number, sentAt: number, now: number): void {
    const peer = this.#peers.getOrAdd(session.peer, session.peerKey);
    if (!this.#mailbox.hasRoom(peer.key, bytes)) return drop(this.#counters, "queueFull");
    peer.rate ??= this.#rates.forPeer(now);
    if (!this.#rates.allow(peer.rate, session.inbox.source, bytes, now)) return drop(this.#counters, "peerRate");
    session.inbox.hold(key);
    const message = { from: session.peer.slice(), id, text, sentAt, receivedAt: now, address: { ...session.address }, path: pathKind(session.path) };
    const offered = this.#mailbox.offer(message, bytes, peer.key, {
      taken: () => {
        if (!session.alive) return;
        session.inbox.take(key, this.#clock());
        this.#sender.ack(session, id);
        this.#sessions.arm(session);
      },
      abandoned: () => session.inbox.release(key),
    });
    if (!offered) {
      session.inbox.release(key);
      return drop(this.#counters, "queueFull");
    }
    this.#counters.messagesReceived++;
  }
}
