// The CLI's two kinds of failure: a bad input (exit 1) and a bad command line (exit 2). Each is
// reported as one line, `error: <message>`, never with a stack trace.

export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = "CliError";
    this.exitCode = exitCode;
  }
}

/** A flag or argument that cannot be used as given: exit status 2. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, 2);
    this.name = "UsageError";
  }
}

/** `n` things, with thousands separators and the right plural. */
export const count = (n: number, what: string): string => `${n.toLocaleString("en-US")} ${what}${n === 1 ? "" : "s"}`;
