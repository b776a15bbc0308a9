// Errors a user caused and can fix. Every face shows them as one line with no
// stack trace (the kernel keeps running, the CLI exits non-zero); anything
// else is a bug and keeps its stack.

/** Base of every error whose message is the whole story for the user. */
export class UserFacingError extends Error {}

/** Bad input to a magic, a CLI command or an API call: names the input and what is allowed. */
export class UsageError extends UserFacingError {
  override name = "UsageError";
}

/** A failure with a known fix (missing file, full disk, bad config); the fix rides in the message. */
export class TscolabError extends UserFacingError {
  override name = "TscolabError";
  constructor(
    message: string,
    readonly fix?: string,
  ) {
    super(fix ? `${message} (fix: ${fix})` : message);
  }
}
