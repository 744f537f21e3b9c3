// The NDJSON events that several commands print (listen, send, talk), in one shape each.
import { formatAddress } from "../contact.ts";
import { formatPublicKey } from "../crypto/identity.ts";
import type { IncomingMessage } from "../wire/mod.ts";

export function messageJson(m: IncomingMessage, name: string | undefined) {
  return { type: "message", from: formatPublicKey(m.from), ...(name ? { name } : {}), id: m.id, text: m.text, sentAt: m.sentAt, receivedAt: m.receivedAt, address: formatAddress(m.address), path: m.path };
}

/**
 * A message that was not delivered. The time it took is measured here, and the message says it
 * (one handshake goes to every address and relay at once, but a lookup's later record may get a
 * second one).
 */
export function failedJson(err: unknown, to: Uint8Array, ms: number) {
  const e = err as { code?: string; reason?: string; message?: string; messageId?: Uint8Array };
  const reason = e.reason ?? e.code ?? "ERROR";
  const message = reason === "HANDSHAKE_TIMEOUT"
    ? `Cannot reach ${formatPublicKey(to)}: no handshake response from the addresses in its record (gave up after ${(ms / 1000).toFixed(1)} s)`
    : e.message ?? String(err);
  return { type: "failed", id: e.messageId ?? null, to: formatPublicKey(to), reason, message, ms };
}
