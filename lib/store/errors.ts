// What can go wrong with a store, each error naming the store (or the field) and the problem.
// `exitCode` follows the CLI contract (lib/errors.ts exitCodeOf reads it): 2 for bad input, 1 otherwise.
// Callers test these by type (instanceof), never by message.

/** A value does not fit its fixed-size field; ids are never truncated, so neither is anything else. */
export class FieldTooLongError extends RangeError {
  readonly exitCode = 2;
  constructor(
    readonly field: string,
    readonly length: number,
    readonly limit: number,
  ) {
    super(`${field} is ${length} bytes, the store holds at most ${limit}`);
    this.name = "FieldTooLongError";
  }
}

/** A value the layout cannot represent (an unknown event type, a negative pid...). */
export class FieldValueError extends RangeError {
  readonly exitCode = 2;
  constructor(field: string, problem: string) {
    super(`${field}: ${problem}`);
    this.name = "FieldValueError";
  }
}

/** The pinned maps were written by a hookshim with another record layout. */
export class StoreVersionError extends Error {
  readonly exitCode = 1;
  constructor(
    readonly store: string,
    readonly found: number,
    readonly expected: number,
    detail = "",
    /** an older layout this hookshim converts when it next writes the store (lib/store/migrate.ts) */
    readonly upgradable = false,
  ) {
    super(
      `store ${store} has record layout version ${found}, this hookshim reads version ${expected}` +
        (detail ? ` (${detail})` : "") +
        (upgradable
          ? `; the next writer upgrades it in place (any hook, or "hookshim --store ${store} store gc")`
          : found > expected
            ? `; a newer hookshim wrote it: install that one, or run "hookshim --store ${store} store reset" to start it afresh (its records are lost)`
            : `; run "hookshim --store ${store} store reset" to start it afresh (its records are lost)`),
    );
    this.name = "StoreVersionError";
  }
}

/** No room left and nothing finished to evict. */
export class StoreFullError extends Error {
  readonly exitCode = 1;
  constructor(store: string, what: string) {
    super(`store ${store} is full: ${what}`);
    this.name = "StoreFullError";
  }
}

/** The store's pin directory is not there (readers do not create stores). */
export class StoreMissingError extends Error {
  readonly exitCode = 1;
  constructor(store: string, dir: string) {
    super(`store ${store} does not exist (no ${dir}); nothing has been recorded yet`);
    this.name = "StoreMissingError";
  }
}

/** A map is missing or has another shape than this hookshim's layout: the store must be reset. */
export class StoreDamagedError extends Error {
  readonly exitCode = 1;
  constructor(
    readonly store: string,
    detail: string,
  ) {
    super(`store ${store} ${detail}; run "hookshim --store ${store} store reset"`);
    this.name = "StoreDamagedError";
  }
}

/**
 * The store's directory is not one hookshim would have made: not a directory on bpffs, owned by
 * another user, or writable by group or others. Someone else prepared it; hookshim refuses to use it.
 */
export class StoreDirError extends Error {
  readonly exitCode = 1;
  constructor(
    readonly store: string,
    readonly dir: string,
    problem: string,
  ) {
    super(`store ${store}: ${dir} ${problem}, refusing to use it`);
    this.name = "StoreDirError";
  }
}

/** Another holder kept the store lock longer than a hook may wait. */
export class StoreLockTimeoutError extends Error {
  readonly exitCode = 1;
  constructor(
    readonly dir: string,
    readonly waitedMs: number,
  ) {
    super(`store lock on ${dir}: still held by another process after ${waitedMs} ms`);
    this.name = "StoreLockTimeoutError";
  }
}

/** An update of a container the store has no record of. */
export class NoSuchContainerError extends Error {
  readonly exitCode = 1;
  constructor(
    readonly store: string,
    readonly id: string,
  ) {
    super(`store ${store}: no container ${id}`);
    this.name = "NoSuchContainerError";
  }
}

/** The process to trace exited before its tracing entry existed, so its exit went unseen. */
export class ProcessGoneError extends Error {
  readonly exitCode = 1;
  constructor(
    readonly store: string,
    readonly pid: number,
  ) {
    super(`store ${store}: pid ${pid} exited before it could be traced`);
    this.name = "ProcessGoneError";
  }
}
