// Two processes on one identity steal each other's messages (a sender reaches whichever record it
// finds). A long-running command (listen, talk) looks its own key up before announcing and then
// once a minute, and warns when the record names addresses that are not its own.
import type { AnnounceResult } from "../contact.ts";
import { formatAddress } from "../contact.ts";
import type { Peer } from "../peer.ts";

/** How often a listener checks that the record in the DHT is still its own. */
const CHECK_EVERY_MS = 60_000;
/** How long the first check may hold back the first announce (a lookup that finds nothing can take long on the Internet). */
const FIRST_CHECK_MS = 3_000;

export interface IdentityWarning {
  type: "warning";
  code: "IDENTITY_IN_USE";
  message: string;
  addresses: string[];
  announcedAt: number;
}

export class IdentityWatch {
  #ours: AnnounceResult | undefined;
  #warned = new Set<string>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #stopped = false;

  readonly #peer: Peer;
  readonly #warn: (w: IdentityWarning) => void;

  constructor(peer: Peer, warn: (w: IdentityWarning) => void) {
    this.#peer = peer;
    this.#warn = warn;
  }

  /**
   * The check before our first announce, waited for at most FIRST_CHECK_MS; a slower one finishes
   * in the background, and still warns only about a record that is not ours.
   */
  async beforeAnnounce(): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([this.check(), new Promise<void>((resolve) => (timer = setTimeout(resolve, FIRST_CHECK_MS)))]);
    clearTimeout(timer);
  }

  /** Remembers what we published, and starts the periodic check. */
  announced(result: AnnounceResult): void {
    this.#ours = result;
    this.#timer ??= setInterval(() => void this.check(), CHECK_EVERY_MS);
  }

  /**
   * Before our first announce, any record whose addresses lack our port is someone else's (or an
   * earlier run's, still in the DHT); after it, a record newer than ours with other addresses is.
   */
  async check(): Promise<void> {
    // What we had published when the lookup started decides which rule applies to its answer.
    const ours = this.#ours;
    const found = await this.#peer.lookup(this.#peer.publicKey).catch(() => undefined);
    if (!found?.found || this.#stopped) return;
    const theirs = found.addresses.map(formatAddress).sort();
    const foreign = ours
      ? found.seq > ours.seq && theirs.join() !== ours.addresses.map(formatAddress).sort().join()
      : !found.addresses.some((a) => a.port === this.#peer.address().port);
    if (!foreign || this.#warned.has(theirs.join())) return;
    this.#warned.add(theirs.join());
    const ago = Math.max(0, Math.round(Date.now() / 1000 - found.announcedAt));
    this.#warn({
      type: "warning", code: "IDENTITY_IN_USE", addresses: theirs, announcedAt: found.announcedAt,
      message: `This identity was announced ${ago} s ago from ${theirs.join(", ")}: another process using it will receive some of its messages (or it is an earlier run's record, which expires)`,
    });
  }

  stop(): void {
    this.#stopped = true;
    clearInterval(this.#timer);
  }
}
