// The hooks section of a runtime-spec config (config.md#posix-platform-hooks), on its own: the
// shim's create reads and injects hooks without building the rest of the spec's schemas, and
// hooks.d files declare hooks with the same schema. spec.ts re-exports all of it.
import * as z from "zod/mini";
import { absolutePath, int32, isAbsolutePath, isInt32Number, isPlainObject, isStringList, listOf, stringList } from "./primitives.ts";

export const HookSchema = z.looseObject({
  path: absolutePath,
  args: z.optional(stringList),
  env: z.optional(stringList),
  /** seconds; the spec: "If set, timeout MUST be greater than zero" */
  timeout: z.optional(int32.check(z.refine((n) => n > 0, { error: (iss) => `must be > 0, got ${String(iss.input)}` }))),
});

/**
 * A hook HookSchema accepts, told in plain code: hooks.d files and config.json's hook lists are
 * validated on every create, and zod takes some 20 µs a hook where this takes well under one. It
 * accepts nothing the schema refuses (test/unit/oci-hooksd.test.ts checks that); anything else goes
 * through the schema for its message and path.
 */
export function isPlainHook(v: unknown): boolean {
  if (!isPlainObject(v)) return false;
  return (
    isAbsolutePath(v.path) &&
    (v.args === undefined || isStringList(v.args)) &&
    (v.env === undefined || isStringList(v.env)) &&
    (v.timeout === undefined || (isInt32Number(v.timeout) && v.timeout > 0))
  );
}

/** Hook stages in the order a container's lifecycle reaches them. */
export const STAGES = ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"] as const;
export type Stage = (typeof STAGES)[number];
export const StageSchema = z.enum(STAGES);

const hookList = z.optional(listOf(z.array(HookSchema), isPlainHook));
export const HooksSchema = z.looseObject({
  /** deprecated in favour of createRuntime/createContainer/startContainer, still valid */
  prestart: hookList,
  createRuntime: hookList,
  createContainer: hookList,
  startContainer: hookList,
  poststart: hookList,
  poststop: hookList,
});

export type Hook = z.infer<typeof HookSchema>;
export type Hooks = z.infer<typeof HooksSchema>;
