// Where a bundle's config.json is, how large it may be, and how its problems are reported: shared by
// the full read (bundle.ts) and a hook's read of its sections (hook-config.ts).
import { statSync } from "node:fs";
import { join } from "node:path";

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
