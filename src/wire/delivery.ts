// What the session layer promises its user: messages in (`IncomingMessage`), acknowledged messages
// out (`Delivery`), and why a message was not delivered (`DeliveryError`, one reason each).
import { ChatError } from "../errors.ts";
import { DELIVERY_TIMEOUT, HANDSHAKE_TIMEOUT } from "./constants.ts";
import type { Address } from "./session.ts";

/** A message delivered to us. */
export interface IncomingMessage {
  /** The sender's Ed25519 public key, authenticated by the handshake. */
  readonly from: Uint8Array;
  readonly id: Uint8Array;
  readonly text: string;
  /** The sender's clock when it sent the message (unix ms; not authenticated time). */
  readonly sentAt: number;
  readonly receivedAt: number;
  /** Where the session's packets come from. */
  readonly address: Address;
  /** Whether the session runs directly or through a relay (PROTOCOL §9). */
  readonly path: "direct" | "relayed";
}

/** A message the peer acknowledged. */
export interface Delivery {
  readonly id: Uint8Array;
  /** Milliseconds from `sendMessage` to the ack, including the handshake when one was needed. */
  readonly rttMs: number;
  /** The path the ack came by: direct, or through a relay (PROTOCOL §9). */
  readonly path: "direct" | "relayed";
}

/** Why a message was not delivered. */
export type DeliveryFailure =
  /** No response to any initiation within 10 s. */
  | "HANDSHAKE_TIMEOUT"
  /** No ack within 10 s of the first transmission. */
  | "DELIVERY_TIMEOUT"
  /** The session was closed (by either side) or replaced before the ack came. */
  | "SESSION_CLOSED"
  /** `close()` was called. */
  | "ENDPOINT_CLOSED"
  /** `reply` to a peer with no session and no known address. */
  | "NO_SESSION";

/** The rejection of `sendMessage` and `reply` when the message was not delivered (exit code 1). */
export class DeliveryError extends ChatError {
  readonly reason: DeliveryFailure;
  /** The message id, when one was assigned. */
  readonly messageId: Uint8Array | undefined;

  constructor(reason: DeliveryFailure, message: string, hint: string, messageId?: Uint8Array) {
    super(reason, message, { hint });
    this.reason = reason;
    this.messageId = messageId;
  }

  /** The error for `reason`, worded for the peer `who` (its key text, quoted). */
  static of(reason: DeliveryFailure, who: string, messageId?: Uint8Array): DeliveryError {
    const [message, hint] = failureText(reason, who);
    return new DeliveryError(reason, message, hint, messageId);
  }
}

/** The sentence and the hint of each failure. */
function failureText(reason: DeliveryFailure, who: string): [string, string] {
  switch (reason) {
    case "HANDSHAKE_TIMEOUT":
      return [`Cannot reach ${who}: no handshake response within ${HANDSHAKE_TIMEOUT / 1000} s`,
        "Check that the peer is online (chat listen) and that its address is current (chat lookup)"];
    case "DELIVERY_TIMEOUT":
      return [`Message to ${who} not acknowledged within ${DELIVERY_TIMEOUT / 1000} s`, "The peer may have gone offline; try again"];
    case "SESSION_CLOSED":
      return [`Message to ${who} not acknowledged: the session closed`, "Send it again to start a new session"];
    case "ENDPOINT_CLOSED":
      return [`Message to ${who} not acknowledged: the endpoint closed`, "Keep the endpoint open until messages are delivered"];
    case "NO_SESSION":
      return [`Cannot reply to ${who}: no session with this peer`, "Use sendMessage with the peer's address (chat lookup finds it)"];
  }
}
