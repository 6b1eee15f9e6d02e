// hookshim's own configuration: config/defaults.json, overridden field by field by
// /etc/hookshim/config.json (or --config / $HOOKSHIM_CONFIG). Validated with zod; a bad file is an
// InputError naming the file and the field.
import { z } from "zod";
import { readFileSync } from "node:fs";
import defaults from "../../config/defaults.json" with { type: "json" };
import { InputError } from "../cli/errors.ts";
import { DevicePolicySchema } from "../devices/sources.ts";

import { configFileInUse } from "./path.ts";
export { SYSTEM_CONFIG, configFileInUse } from "./path.ts";

export const ConfigSchema = z.object({
  /** pin directory name under bpffs */
  store: z.string().regex(/^[A-Za-z0-9_.-]+$/, "a store name is letters, digits, '_', '.', '-'"),
  bpffs: z.string().startsWith("/"),
  /** v2 cgroup parent for containers the runtime left at the root */
  cgroupParent: z.string().startsWith("/"),
  /** with systemd as PID 1: the slice whose transient scopes hold those containers instead; null: cgroupParent */
  systemdSlice: z.string().regex(/^[A-Za-z0-9:_.\\-]+\.slice$/, "a slice name is NAME.slice").nullable(),
  /** closed: any hook error fails the container start; open: warn and let it start */
  failMode: z.enum(["closed", "open"]),
  logLevel: z.enum(["error", "warn", "info", "debug"]),
  /** host device policy: rules appended after the container's (a host deny wins), annotation requests */
  devices: DevicePolicySchema,
  capacity: z.object({ containers: z.number().int().positive(), events: z.number().int().positive() }),
  /** hooks.d directories the runtime shim reads, lowest precedence first */
  hooksDirs: z.array(z.string().startsWith("/")),
  runtime: z.object({
    /** the lower runtime the shim execs; null finds runc, then crun */
    path: z.string().startsWith("/").nullable(),
    /** also inject hookshim's own prestart/poststop hooks */
    injectHookshimHooks: z.boolean(),
  }),
});

export type HookshimConfig = z.infer<typeof ConfigSchema>;

const DEFAULTS_FILE = "config/defaults.json";

function merge(base: unknown, over: unknown): unknown {
  if (over && typeof over === "object" && !Array.isArray(over) && base && typeof base === "object" && !Array.isArray(base)) {
    const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
    for (const [k, v] of Object.entries(over)) out[k] = merge(out[k], v);
    return out;
  }
  return over === undefined ? base : over;
}

function issuePath(path: PropertyKey[]): string {
  return path.reduce<string>((s, p) => (typeof p === "number" ? `${s}[${p}]` : s ? `${s}.${String(p)}` : String(p)), "");
}

/**
 * Parse a config object layered over the defaults; errors name `file` and the field. The defaults
 * are validated as part of the result, not on their own: a hook parses its configuration once.
 */
export function parseConfig(raw: unknown, file: string): HookshimConfig {
  // jitless: zod's JIT compiles the schema on its first parse, which costs a hook (one parse per
  // process) about a millisecond and saves nothing measurable after.
  const r = ConfigSchema.safeParse(merge(defaults, raw), { jitless: true });
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new InputError(`${file}: ${issuePath(i.path as PropertyKey[]) || "(root)"}: ${i.message}`);
  }
  return r.data;
}

/**
 * The configuration in force: an explicit file (which must exist), else /etc/hookshim/config.json
 * when present, else the defaults.
 */
export function loadConfig(explicitPath?: string): HookshimConfig {
  const path = configFileInUse(explicitPath);
  if (!path) return defaultConfig();
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new InputError(`${path}: cannot read config: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new InputError(`${path}: not valid JSON: ${(e as Error).message}`);
  }
  return parseConfig(raw, path);
}

let validatedDefaults: HookshimConfig | undefined;

/** config/defaults.json, validated on first use. */
export function defaultConfig(): HookshimConfig {
  return (validatedDefaults ??= parseConfig({}, DEFAULTS_FILE));
}
