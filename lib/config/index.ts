// hookshim's own configuration: config/defaults.json, overridden field by field by
// /etc/hookshim/config.json (or --config / $HOOKSHIM_CONFIG). Validated with strict zod schemas: a
// key hookshim does not know is an error naming it and the nearest known key (a typo must not
// silently drop the policy it was meant to set), and a bad file is an InputError naming the file
// and the field.
import * as z from "zod/mini";
import { readFileSync } from "node:fs";
import defaults from "../../config/defaults.json" with { type: "json" };
import { InputError } from "../errors.ts";
import { DevicePolicySchema } from "../devices/sources.ts";
import { formatIssuePath, issueMessage } from "../oci/issues.ts";

import { configFileInUse } from "./path.ts";
export { SYSTEM_CONFIG, configFileInUse } from "./path.ts";

export const ConfigSchema = z.strictObject({
  /** pin directory name under bpffs */
  store: z.string().check(z.regex(/^[A-Za-z0-9_.-]+$/, "a store name is letters, digits, '_', '.', '-'")),
  bpffs: z.string().check(z.startsWith("/")),
  /** v2 cgroup parent for containers the runtime left at the root */
  cgroupParent: z.string().check(z.startsWith("/")),
  /** with systemd as PID 1: the slice whose transient scopes hold those containers instead; null: cgroupParent */
  systemdSlice: z.nullable(z.string().check(z.regex(/^[A-Za-z0-9:_.\\-]+\.slice$/, "a slice name is NAME.slice"))),
  /** closed: any hook error fails the container start; open: warn and let it start */
  failMode: z.enum(["closed", "open"]),
  logLevel: z.enum(["error", "warn", "info", "debug"]),
  /** host device policy: absolute denies, allows granted to every container, annotation requests */
  devices: DevicePolicySchema,
  capacity: z.strictObject({ containers: z.int().check(z.positive()), events: z.int().check(z.positive()) }),
  /** hooks.d directories the runtime shim reads, lowest precedence first */
  hooksDirs: z.array(z.string().check(z.startsWith("/"))),
  runtime: z.strictObject({
    /** the lower runtime the shim execs; null finds runc, then crun */
    path: z.nullable(z.string().check(z.startsWith("/"))),
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

/** The object keys the schema knows at `path` (through arrays, optionals and nullables). */
function knownKeys(schema: z.core.$ZodType, path: readonly PropertyKey[]): string[] {
  const unwrap = (t: unknown): unknown => {
    while (t instanceof z.core.$ZodOptional || t instanceof z.core.$ZodNullable) t = t._zod.def.innerType;
    return t;
  };
  let t = unwrap(schema);
  for (const p of path) {
    if (t instanceof z.core.$ZodArray) t = unwrap(t._zod.def.element);
    else if (t instanceof z.core.$ZodObject && typeof p === "string") t = unwrap(t._zod.def.shape[p]);
    else return [];
  }
  return t instanceof z.core.$ZodObject ? Object.keys(t._zod.def.shape) : [];
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}

/** The known key `key` was most likely meant to be: same letters in another case, or a typo or two away. */
export function nearestKey(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = editDistance(key.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

/**
 * Every problem of a config file's contents layered over the defaults, one `path: message` line
 * each; empty when it is valid. An unknown key is one line per key, with the nearest known one.
 */
export function configProblems(raw: unknown): string[] {
  const r = ConfigSchema.safeParse(merge(defaults, raw), { error: issueMessage, jitless: true });
  if (r.success) return [];
  return r.error.issues.flatMap((i) => {
    if (i.code !== "unrecognized_keys") return [`${formatIssuePath(i.path)}: ${i.message}`];
    const known = knownKeys(ConfigSchema, i.path);
    return i.keys.map((k) => {
      const near = nearestKey(k, known);
      const hint = near ? `did you mean ${near}?` : `known: ${known.join(", ")}`;
      return `${formatIssuePath([...i.path, k])}: unknown key (${hint})`;
    });
  });
}

/**
 * Parse a config object layered over the defaults; errors name `file` and the field. The defaults
 * are validated as part of the result, not on their own: a hook parses its configuration once.
 */
export function parseConfig(raw: unknown, file: string): HookshimConfig {
  // jitless: zod's JIT compiles the schema on its first parse, which costs a hook (one parse per
  // process) about a millisecond and saves nothing measurable after.
  const r = ConfigSchema.safeParse(merge(defaults, raw), { jitless: true });
  if (!r.success) throw new InputError(`${file}: ${configProblems(raw).join("; ")}`);
  return r.data;
}

/** The text of a config file as JSON (not yet validated); InputError names the file. */
export function readConfigFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new InputError(`${path}: cannot read config: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new InputError(`${path}: not valid JSON: ${(e as Error).message}`);
  }
}

/**
 * The configuration in force: an explicit file (which must exist), else /etc/hookshim/config.json
 * when present, else the defaults.
 */
export function loadConfig(explicitPath?: string): HookshimConfig {
  const path = configFileInUse(explicitPath);
  if (!path) return defaultConfig();
  return parseConfig(readConfigFile(path), path);
}

let validatedDefaults: HookshimConfig | undefined;

/** config/defaults.json, validated on first use. */
export function defaultConfig(): HookshimConfig {
  return (validatedDefaults ??= parseConfig({}, DEFAULTS_FILE));
}
