// Exit-code carrying errors, below every layer: libraries throw them, the entry points print them.
// Everything the CLI prints on failure is one line: `hookshim: <message>`.
export class UsageError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Bad input (a file that fails its schema, malformed JSON, an invalid rule): exit 2. */
export class InputError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = "InputError";
  }
}

export function exitCodeOf(e: unknown): number {
  const c = (e as { exitCode?: unknown } | null)?.exitCode;
  return typeof c === "number" ? c : 1;
}

export function oneLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.replace(/\s*\n\s*/g, "; ");
}
