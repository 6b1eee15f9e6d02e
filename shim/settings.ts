// runtime.path for the pass-through commands. `runc state`, `kill`, `delete` run often and must stay
// cheap, so they read only this one field, without the zod schema. create and run validate the
// whole file through lib/config; a broken configuration therefore blocks new containers but never
// the deletion of existing ones.
import defaults from "../config/defaults.json" with { type: "json" };
import { InputError } from "../lib/errors.ts";
import { configFileInUse } from "../lib/config/path.ts";
import { readText } from "../lib/sys/file.ts";

export function configuredRuntimePath(explicitConfig?: string): string | null {
  const fallback = defaults.runtime.path as string | null;
  const file = configFileInUse(explicitConfig);
  if (file === undefined) return fallback;
  let raw: unknown;
  try {
    raw = JSON.parse(readText(file));
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new InputError(`${file}: ${code ? `cannot read config: ${code}` : `not valid JSON: ${(e as Error).message}`}`);
  }
  const runtime = (raw as { runtime?: unknown } | null)?.runtime;
  const path = runtime && typeof runtime === "object" ? (runtime as { path?: unknown }).path : undefined;
  if (path === undefined) return fallback;
  if (path === null || (typeof path === "string" && path.startsWith("/"))) return path;
  throw new InputError(`${file}: runtime.path: expected an absolute path or null`);
}
