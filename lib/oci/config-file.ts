// Where a bundle's config.json is, how large it may be, how it is read and validated, and how its
// problems are reported: shared by the full read (bundle.ts) and a hook's read of its sections
// (hook-config.ts), which differ only in the schema.
import { statSync } from "node:fs";
import { join } from "node:path";
import type * as z from "zod/mini";
import { InputError } from "../errors.ts";
import { check } from "./issues.ts";
import { readJsonFile } from "./json.ts";

/** Real configs are tens of KiB; the limit keeps a hostile or broken file from being parsed at all. */
export const CONFIG_SIZE_LIMIT = 16 * 1024 * 1024;

/** Problems listed in one error line before the rest are counted. */
const MAX_LISTED = 10;

export function configPath(bundleOrFile: string): string {
  let isDir = false;
  try {
    isDir = statSync(bundleOrFile).isDirectory();
  } catch {
    // a missing path is reported by the read, naming it
  }
  return isDir ? join(bundleOrFile, "config.json") : bundleOrFile;
}

/** Problems joined into one line, the first MAX_LISTED of them. */
export function problemLine(file: string, problems: string[]): string {
  const listed = problems.slice(0, MAX_LISTED).join("; ");
  const more = problems.length > MAX_LISTED ? `; and ${problems.length - MAX_LISTED} more` : "";
  return `${file}: ${listed}${more}`;
}

export interface LoadedConfigOf<T> {
  /** the config.json path that was read */
  file: string;
  /**
   * The validated config (or sections). It is the raw object itself (validation copies nothing
   * into it), so changes made through it are what writeConfigAtomic writes.
   */
  spec: T;
  /** the object exactly as parsed: key order and unknown fields intact */
  raw: Record<string, unknown>;
}

/** `bundle/config.json` (or the file given), read bounded and validated against `schema`. */
export function readConfigAs<S extends z.core.$ZodType>(schema: S, bundleOrFile: string): LoadedConfigOf<z.infer<S>> {
  const file = configPath(bundleOrFile);
  const raw = readJsonFile(file, CONFIG_SIZE_LIMIT);
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw new InputError(`${file}: a config must be a JSON object`);
  const r = check(schema, raw);
  if (!r.ok) throw new InputError(problemLine(file, r.problems));
  return { file, spec: r.value as z.infer<S>, raw: raw as Record<string, unknown> };
}
