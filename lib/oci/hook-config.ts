// config.json as a hook reads it: its ociVersion (a file that is not a runtime-spec config is refused
// before anything is read from it) and the sections prestart uses (annotations, linux.devices,
// linux.cgroupsPath, linux.resources), validated with their runtime-spec schemas, so a hook neither
// builds nor runs the schemas of mounts, process, seccomp and the rest. Errors name the field as the
// full validation does. The whole file is validated by `hookshim validate` and wherever config.json
// is rewritten (bundle.ts readConfig: the shim, install --bundle).
import * as z from "zod/mini";
import { readConfigAs, type LoadedConfigOf } from "./config-file.ts";
import { AnnotationsSchema, semver } from "./primitives.ts";
import { LinuxDeviceListSchema, LinuxResourcesSchema } from "./resources.ts";

export const HookConfigSchema = z.looseObject({
  ociVersion: semver,
  annotations: z.optional(AnnotationsSchema),
  linux: z.optional(
    z.looseObject({
      devices: z.optional(LinuxDeviceListSchema),
      cgroupsPath: z.optional(z.string()),
      resources: z.optional(LinuxResourcesSchema),
    }),
  ),
});

export type HookConfig = z.infer<typeof HookConfigSchema>;

export type LoadedHookConfig = LoadedConfigOf<HookConfig>;

/** Reads `bundle/config.json` (bounded) and validates what a hook reads of it. */
export function readHookConfig(bundleOrFile: string): LoadedHookConfig {
  return readConfigAs(HookConfigSchema, bundleOrFile);
}
