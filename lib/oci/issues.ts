// Turns zod issues into the one-line-per-problem form every hookshim input error uses:
// `linux.resources.devices[2].access: "x" is not one of r, w, m`.
// zod/mini: the tree-shakable build. Its schemas cost a short-lived process (a hook, the shim) a
// fraction of the classic API's module evaluation and heap; every schema in hookshim is one.
import * as z from "zod/mini";

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** `linux.resources.devices[2].access`; keys that are not identifiers are quoted: `annotations["io.x"]`. */
export function formatIssuePath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) {
    if (typeof p === "number") out += `[${p}]`;
    else {
      const key = String(p);
      if (IDENTIFIER.test(key)) out += out ? `.${key}` : key;
      else out += `[${JSON.stringify(key)}]`;
    }
  }
  return out || "(root)";
}

/** A value as it appears in a message: strings quoted, containers named, long text cut. */
export function describeValue(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object") return "an object";
  if (typeof v === "bigint") return String(v);
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}..."` : s;
}

function plural(n: number | bigint, word: string): string {
  return `${n} ${word}${n === 1 || n === 1n ? "" : "s"}`;
}

type RawIssue = z.core.$ZodRawIssue;

function sizeMessage(iss: RawIssue & { code: "too_small" | "too_big" }): string {
  const small = iss.code === "too_small";
  const bound = small ? (iss as { minimum: number | bigint }).minimum : (iss as { maximum: number | bigint }).maximum;
  switch (iss.origin) {
    case "array":
    case "set":
      return small ? `must have at least ${plural(bound, "item")}` : `must have at most ${plural(bound, "item")}`;
    case "string":
      if (small && Number(bound) === 1) return "must not be empty";
      return small ? `must be at least ${plural(bound, "character")} long` : `must be at most ${plural(bound, "character")} long`;
    default: {
      const op = small ? (iss.inclusive ? ">=" : ">") : iss.inclusive ? "<=" : "<";
      return `must be ${op} ${bound}, got ${describeValue(iss.input)}`;
    }
  }
}

/**
 * The per-parse error map hookshim parses with: messages that say what is wrong with the value
 * (`expected boolean, got "yes"`, `"x" is not one of a, b, c`). Schema-level messages win over it.
 */
export function issueMessage(iss: RawIssue): string | undefined {
  // a field that is absent is "required", whatever kind of value it would have had to be
  if (iss.input === undefined && (iss.code === "invalid_type" || iss.code === "invalid_value" || iss.code === "invalid_union"))
    return "required";
  switch (iss.code) {
    case "invalid_type":
      return `expected ${iss.expected === "record" ? "object" : iss.expected}, got ${describeValue(iss.input)}`;
    case "invalid_value":
      if (iss.values.length === 1) return `must be ${describeValue(iss.values[0])}, got ${describeValue(iss.input)}`;
      return `${describeValue(iss.input)} is not one of ${iss.values.map(String).join(", ")}`;
    case "too_small":
    case "too_big":
      return sizeMessage(iss);
    case "invalid_format":
      return `${describeValue(iss.input)} is not a valid ${iss.format}`;
    case "not_multiple_of":
      return `must be a multiple of ${iss.divisor}`;
    case "unrecognized_keys":
      return `unknown field${iss.keys.length === 1 ? "" : "s"} ${iss.keys.join(", ")}`;
    case "invalid_key":
      return `invalid key ${describeValue(iss.input)}`;
    case "invalid_union":
      return `${describeValue(iss.input)} matches none of the allowed forms`;
    default:
      return undefined;
  }
}

// zod/mini brings no message text (no locale): hookshim's messages are every parse's default, so a
// schema parsed without an error map (a test, a caller outside lib/oci) still says what is wrong.
// jitless everywhere: an object schema built with the JIT on probes `new Function` once per process
// (JavaScriptCore's parser, otherwise never needed by bytecode-compiled hookshim), and every parse on the
// start path is a one-shot one, for which compiling the parser costs more than it saves.
z.config({ customError: issueMessage, jitless: true });

/** One `path: message` line per issue. */
export function formatIssues(err: z.core.$ZodError | readonly z.core.$ZodIssue[]): string[] {
  const issues = err instanceof z.core.$ZodError ? err.issues : err;
  return issues.map((i) => `${formatIssuePath(i.path)}: ${i.message}`);
}

export type Checked<T> = { ok: true; value: T } | { ok: false; problems: string[] };

/**
 * Validates `value` against `schema` with hookshim's messages. On success the value returned is
 * the input itself, not zod's copy: the schemas transform nothing, and the caller keeps the
 * original object with its key order and unknown fields for writing back.
 */
export function check<S extends z.core.$ZodType>(schema: S, value: unknown): Checked<z.output<S>> {
  // jitless: zod's JIT compiles each object schema on its first parse, which costs a short-lived
  // process (a hook validates once) several milliseconds and saves nothing measurable after.
  const r = z.safeParse(schema, value, { error: issueMessage, jitless: true });
  return r.success ? { ok: true, value: value as z.output<S> } : { ok: false, problems: formatIssues(r.error) };
}
