// A container id, as hookshim lets it become a path component (the cgroup hookshim creates), a map
// key (the store) or a line in a table: ids come from runtimes' argv, states and annotations, all
// untrusted. runc refuses most of these itself; hookshim does not rely on it.
import * as z from "zod/mini";
import { InputError } from "../errors.ts";
import { utf8Bytes } from "../sys/struct.ts";
import { describeValue } from "./issues.ts";

/** The longest id in bytes: what the store's container key holds (lib/store/layout.ts LIMITS.id). */
export const CONTAINER_ID_MAX_BYTES = 128;

// C0 controls, DEL and C1 controls (\x9b is a CSI on some terminals)
const CONTROL = /[\x00-\x1f\x7f-\x9f]/;

/** What is wrong with `id` as a container id; undefined when nothing is. */
export function containerIdProblem(id: unknown): string | undefined {
  if (typeof id !== "string") return id === undefined ? "required" : `expected string, got ${describeValue(id)}`;
  if (id === "") return "must not be empty";
  if (id === "." || id === "..") return `${describeValue(id)} is not a container id (it names a directory)`;
  if (id.includes("/")) return "must not contain /";
  if (CONTROL.test(id)) return "must not contain control characters";
  const bytes = utf8Bytes(id).byteLength;
  if (bytes > CONTAINER_ID_MAX_BYTES) return `is ${bytes} bytes long, more than ${CONTAINER_ID_MAX_BYTES}`;
  return undefined;
}

/** The id itself when it is a valid container id; else an InputError naming `what` (no echo of the id). */
export function checkContainerId(id: string, what = "container id"): string {
  const problem = containerIdProblem(id);
  if (problem) throw new InputError(`${what}: ${problem}`);
  return id;
}

/** The same check as a schema field (a state's `id`). */
export const containerIdSchema = z.string().check(
  z.superRefine((id, ctx) => {
    const problem = containerIdProblem(id);
    if (problem) ctx.addIssue({ code: "custom", input: id, message: problem });
  }),
);
