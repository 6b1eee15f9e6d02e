// The container state a runtime hands to hooks on stdin (runtime-spec runtime.md "State").
import * as z from "zod/mini";
import { InputError } from "../errors.ts";
import { check } from "./issues.ts";
import { parseJson } from "./json.ts";
import { containerIdSchema } from "./id.ts";
import { AnnotationsSchema, absolutePath, int32, nonEmptyString } from "./primitives.ts";

export const STATUSES = ["creating", "created", "running", "stopped"] as const;
export type Status = (typeof STATUSES)[number];

export const StateSchema = z
  .looseObject({
    // The spec asks for SemVer, but crun (1.8 at least) hands its hooks "1.0": a hook that refused it
    // would fail every crun container. The version is informative here; nothing depends on it.
    ociVersion: nonEmptyString,
    id: containerIdSchema,
    status: z.enum(STATUSES),
    // Go runtimes write `pid` with omitempty; a stopped container's state may carry none
    pid: z.optional(int32.check(z.refine((n) => n >= 0, { error: (iss) => `must be >= 0, got ${String(iss.input)}` }))),
    bundle: absolutePath,
    annotations: z.optional(AnnotationsSchema),
  })
  .check(z.superRefine((s, ctx) => {
    // "REQUIRED when status is created or running on Linux"
    if ((s.status === "created" || s.status === "running") && !(Number(s.pid) > 0))
      ctx.addIssue({ code: "custom", path: ["pid"], input: s.pid, message: `required (a positive process id) when status is "${s.status}"` });
  }));

export type State = z.infer<typeof StateSchema>;

/** Parses state JSON (a hook's stdin); errors are InputErrors naming `source` and each field. */
export function parseState(text: string, source = "stdin"): State {
  let raw: unknown;
  try {
    raw = parseJson(text);
  } catch (e) {
    throw new InputError(`${source}: not valid JSON: ${(e as Error).message}`);
  }
  const r = check(StateSchema, raw);
  if (!r.ok) throw new InputError(`${source}: ${r.problems.join("; ")}`);
  return r.value;
}
