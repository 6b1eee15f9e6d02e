// What can go wrong with a store, each error naming the store (or the field) and the problem.
// `exitCode` follows the CLI contract (lib/errors.ts exitCodeOf reads it): 2 for bad input, 1 otherwise.

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
  ) {
    super(
      `store ${store} has record layout version ${found}, this hookshim reads version ${expected}` +
        (detail ? ` (${detail})` : "") +
        `; run "hookshim --store ${store} store reset" to start it afresh`,
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
