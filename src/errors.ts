/** Exit codes of the CLI contract (DESIGN.md). */
export const EXIT = { ok: 0, failed: 1, usage: 2, network: 3 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/**
 * The one error class of chat: a stable machine-readable `code`, a sentence-case
 * `message`, an optional human `hint`, and the exit code the CLI should use.
 */
export class ChatError extends Error {
  override readonly name = "ChatError";
  readonly code: string;
  readonly exitCode: ExitCode;
  readonly hint: string | undefined;

  constructor(code: string, message: string, opts: { exitCode?: ExitCode; hint?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.exitCode = opts.exitCode ?? EXIT.failed;
    this.hint = opts.hint;
  }

  /** Bad input or usage: exit 2. */
  static input(code: string, message: string, hint?: string, cause?: unknown): ChatError {
    return new ChatError(code, message, { exitCode: EXIT.usage, ...(hint ? { hint } : {}), cause });
  }

  /** The operation ran but failed: exit 1. */
  static failed(code: string, message: string, hint?: string): ChatError {
    return new ChatError(code, message, { exitCode: EXIT.failed, ...(hint ? { hint } : {}) });
  }

  /** No bootstrap node answered: exit 3. */
  static network(message: string, hint?: string): ChatError {
    return new ChatError("NO_NETWORK", message, { exitCode: EXIT.network, ...(hint ? { hint } : {}) });
  }
}
