// config.json as a hook reads it: only the sections prestart uses (annotations, linux.devices,
// linux.cgroupsPath, linux.resources), validated with their runtime-spec schemas, so a hook neither
// builds nor runs the schemas of mounts, process, seccomp and the rest. Errors name the field as the
// full validation does. The whole file is validated by `hookshim validate` and wherever config.json
// is rewritten (bundle.ts readConfig: the shim, install --bundle).
import { z } from "zod";
import { InputError } from "../errors.ts";
import { CONFIG_SIZE_LIMIT, configPath, problemLine } from "./config-file.ts";
import { check } from "./issues.ts";
import { readJsonFile } from "./json.ts";
import { AnnotationsSchema } from "./primitives.ts";
import { LinuxDeviceSchema, LinuxResourcesSchema } from "./resources.ts";

export const HookConfigSchema = z.looseObject({
  annotations: AnnotationsSchema.optional(),
  linux: z
    .looseObject({
      devices: z.array(LinuxDeviceSchema).optional(),
      cgroupsPath: z.string().optional(),
      resources: LinuxResourcesSchema.optional(),
    })
    .optional(),
});

export type HookConfig = z.infer<typeof HookConfigSchema>;

export interface LoadedHookConfig {
  file: string;
  /** the validated sections (the raw object itself: validation copies nothing) */
  spec: HookConfig;
  /** the object exactly as parsed */
  raw: Record<string, unknown>;
}

/** Reads `bundle/config.json` (bounded) and validates what a hook reads of it. */
export function readHookConfig(bundleOrFile: string): LoadedHookConfig {
  const file = configPath(bundleOrFile);
  const raw = readJsonFile(file, CONFIG_SIZE_LIMIT);
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw new InputError(`${file}: a config must be a JSON object`);
  const r = check(HookConfigSchema, raw);
  if (!r.ok) throw new InputError(problemLine(file, r.problems));
  return { file, spec: r.value, raw: raw as Record<string, unknown> };
}
