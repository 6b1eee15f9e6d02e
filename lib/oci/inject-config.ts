// config.json as the shim's create reads it: what hooks.d selection decides on (annotations,
// process.args, the mounts' type and options) and the hooks it injects into, validated with the
// runtime-spec's own field schemas, so a create neither builds nor runs the schemas of the rest (a
// config with a thousand mounts is a thousand mount validations). Errors name the field as the full
// validation does. The whole file is validated before it is rewritten (shim/inject.ts), by
// `hookshim validate`, and by the lower runtime itself.
import * as z from "zod/mini";
import { readConfigAs, type LoadedConfigOf } from "./config-file.ts";
import { HooksSchema } from "./hooks-schema.ts";
import { AnnotationsSchema, isPlainObject, isStringList, listOf, semver, stringList } from "./primitives.ts";

/** process.args: non-Windows, "at least one entry is REQUIRED" (spec.ts ProcessSchema uses it). */
export const ProcessArgsSchema = z.array(z.string()).check(z.minLength(1));

/** The fields of a mount that tell a bind mount (spec.ts MountSchema has them too). */
export const MountSelectionFields = {
  type: z.optional(z.string()),
  options: z.optional(stringList),
};

/**
 * A mount those fields accept, told in plain code: the common valid case of a list that may hold a
 * thousand mounts, which zod would check at some 8 µs a mount on every create. It accepts nothing
 * the fields refuse (test/unit/oci-hooksd.test.ts checks that); anything else goes through them.
 */
export function isPlainSelectionMount(v: unknown): boolean {
  return isPlainObject(v) && (v.type === undefined || typeof v.type === "string") && (v.options === undefined || isStringList(v.options));
}

export const InjectConfigSchema = z.looseObject({
  ociVersion: semver,
  annotations: z.optional(AnnotationsSchema),
  process: z.optional(z.looseObject({ args: z.optional(ProcessArgsSchema) })),
  mounts: z.optional(listOf(z.array(z.looseObject(MountSelectionFields)), isPlainSelectionMount)),
  hooks: z.optional(HooksSchema),
});

export type InjectConfig = z.infer<typeof InjectConfigSchema>;

/** Reads `bundle/config.json` (bounded) and validates what hooks.d selection and injection read of it. */
export function readInjectConfig(bundleOrFile: string): LoadedConfigOf<InjectConfig> {
  return readConfigAs(InjectConfigSchema, bundleOrFile);
}
