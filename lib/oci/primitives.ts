// The scalar types the runtime-spec is written in (uint32, int64, absolute path, SemVer, ...) as zod
// schemas, built once at module load.
import * as z from "zod/mini";
import { describeValue, issueMessage } from "./issues.ts";

/**
 * A number that is an integer in min..max: the number half of `integer` below, and on its own the
 * plain check the fast paths in front of list schemas (listOf) use, so both test one range.
 */
function isIntegerIn(min: bigint, max: bigint): (v: unknown) => v is number {
  const lo = Number(min), hi = Number(max);
  return (v): v is number => typeof v === "number" && Number.isInteger(v) && v >= lo && v <= hi;
}

/**
 * An integer of a Go type's range. uint64/int64 values beyond 2^53 arrive as bigint (see json.ts),
 * so both representations are accepted and range-checked exactly.
 */
function integer(name: string, min: bigint, max: bigint) {
  const isNumberIn = isIntegerIn(min, max);
  return z.custom<number | bigint>(
    (v) => (typeof v === "number" ? isNumberIn(v) : typeof v === "bigint" && v >= min && v <= max),
    {
      error: (iss) => {
        const v = iss.input;
        if (v === undefined) return "required";
        if ((typeof v === "number" && Number.isInteger(v)) || typeof v === "bigint") return `${v} is out of range for ${name} (${min}..${max})`;
        return `expected an integer, got ${describeValue(v)}`;
      },
    },
  );
}

const INT32: [bigint, bigint] = [-(2n ** 31n), 2n ** 31n - 1n];
const INT64: [bigint, bigint] = [-(2n ** 63n), 2n ** 63n - 1n];
const UINT32: [bigint, bigint] = [0n, 2n ** 32n - 1n];

/** Types whose whole range is exact in a double: values are always numbers (json.ts makes bigints only past 2^53). */
const smallInteger = (name: string, min: bigint, max: bigint) => integer(name, min, max) as unknown as z.ZodMiniType<number>;
export const int32 = smallInteger("int32", ...INT32);
export const uint16 = smallInteger("uint16", 0n, 2n ** 16n - 1n);
export const uint32 = smallInteger("uint32", ...UINT32);
export const int64 = integer("int64", ...INT64);
export const uint64 = integer("uint64", 0n, 2n ** 64n - 1n);

/** int32, int64 and uint32 as plain checks of a number (a bigint is left to the schemas above). */
export const isInt32Number = isIntegerIn(...INT32);
export const isInt64Number = isIntegerIn(...INT64);
export const isUint32Number = isIntegerIn(...UINT32);

const isString = (s: unknown) => typeof s === "string";
const isNonEmptyString = (s: unknown) => typeof s === "string" && s !== "";

/** What `absolutePath` accepts, as a plain check. */
export const isAbsolutePath = (s: unknown): s is string => typeof s === "string" && s.startsWith("/");
/** What `stringList` accepts, as a plain check. */
export const isStringList = (v: unknown): v is string[] => Array.isArray(v) && v.every(isString);
/** A plain object (what JSON.parse makes): an object schema and a record schema both take it. */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

export function intRange(min: number, max: number) {
  return integer(`[${min}, ${max}]`, BigInt(min), BigInt(max));
}

export const absolutePath = z
  .string()
  .check(z.refine((s) => isAbsolutePath(s), { error: (iss) => `${describeValue(iss.input)} is not an absolute path` }));

export const nonEmptyString = z.string().check(z.minLength(1));

// semver.org's recommended expression
const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

export const semver = z
  .string()
  .check(z.refine((s) => SEMVER.test(s), { error: (iss) => `${describeValue(iss.input)} is not a SemVer 2.0.0 version` }));

/**
 * `detailed`, with a plain-loop check in front for the common valid case: zod spends ~50 ns per
 * array element, and a seccomp profile alone lists some 400 syscall names. Only a list that fails
 * the loop goes through zod, for its per-element paths and messages.
 */
export function listOf<T extends z.core.$ZodType>(detailed: z.ZodMiniArray<T>, validItem: (item: unknown) => boolean, minItems = 0) {
  return z.custom<z.output<T>[]>().check(
    z.superRefine((v, ctx) => {
      if (Array.isArray(v) && v.length >= minItems && v.every(validItem)) return;
      checkWith(detailed, v, ctx);
    }),
  );
}

/** Parses `v` with `schema` and reports its issues where the caller's check stands: same paths, same messages. */
function checkWith(schema: z.core.$ZodType, v: unknown, ctx: z.core.$RefinementCtx) {
  const r = z.safeParse(schema, v, { error: issueMessage });
  if (!r.success) for (const iss of r.error.issues) ctx.addIssue({ ...iss, input: undefined } as never);
}

/**
 * The schema `build` makes, built the first time a value is there to check it: an optional section
 * most configs leave out (linux.resources' blockIO, network, rdma, ...) costs a hook nothing, where
 * building it would cost each hook some 15 µs a schema. The value passes through unchanged, so only
 * schemas without transforms may be deferred; issues keep their paths and messages.
 */
export function deferred<T extends z.core.$ZodType>(build: () => T) {
  let schema: T | undefined;
  return z.custom<z.output<T>>().check(z.superRefine((v, ctx) => checkWith((schema ??= build()), v, ctx)));
}

export const stringList = listOf(z.array(z.string()), isString);
/** seccomp syscall names: at least one, none empty */
export const syscallNames = listOf(z.array(z.string().check(z.minLength(1))).check(z.minLength(1)), isNonEmptyString, 1);
export const stringMap = z.record(z.string(), z.string());

/** A config's and a state's `annotations` (here, not in spec.ts, so the state does not need the whole spec). */
export const AnnotationsSchema = z.record(nonEmptyString, z.string());

/** A string made only of the given characters, e.g. cgroup device access `rwm`. */
export function charsOf(allowed: string) {
  const list = [...allowed].join(", ");
  return z.string().check(
    z.superRefine((s, ctx) => {
      for (const ch of s)
        if (!allowed.includes(ch)) {
          ctx.addIssue({ code: "custom", input: s, message: `${JSON.stringify(ch)} is not one of ${list}` });
          return;
        }
    }),
  );
}
