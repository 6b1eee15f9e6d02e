// A bundle's config.json: read with a size limit and validated; written back atomically with the
// original's mode and owner, its key order and every field this code does not know.
import { closeSync, fchmodSync, fchownSync, fsyncSync, openSync, renameSync, statSync, unlinkSync, writeSync, type Stats } from "node:fs";
import { basename, dirname, join } from "node:path";
import { stringifyJson } from "./json.ts";
import { SpecSchema, type Spec } from "./spec.ts";
import { readConfigAs, type LoadedConfigOf } from "./config-file.ts";
export { CONFIG_SIZE_LIMIT, configPath, problemLine } from "./config-file.ts";

export type LoadedConfig = LoadedConfigOf<Spec>;

/** Reads `bundle/config.json` (or the file given) and validates it against runtime-spec v1.2. */
export function readConfig(bundleOrFile: string): LoadedConfig {
  return readConfigAs(SpecSchema, bundleOrFile);
}

function existing(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new Error(`${path}: cannot stat: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}

export interface WriteOptions {
  /** JSON.stringify indentation; compact (as podman and containerd write it) when absent */
  indent?: string | number;
  /** mode of a file that does not exist yet */
  mode?: number;
  /**
   * fsync the directory after the rename, so the new file survives a crash (default). The shim
   * passes false for a bundle's config.json: the container it is created for does not outlive a
   * crash, and the file itself is synced before the rename, so a crash leaves the old file or the
   * new one, both whole. That saves a journal commit on every container create.
   */
  durable?: boolean;
}

/**
 * Replaces `path` with `obj` as JSON: a temporary file in the same directory, fsync, rename over
 * the original, fsync of the directory (unless opts.durable is false). A reader (the runtime) sees the old file or the new one,
 * never a partial write. The original's permission bits and owner carry over.
 */
export function writeConfigAtomic(path: string, obj: unknown, opts: WriteOptions = {}): void {
  writeFileAtomic(path, stringifyJson(obj, opts.indent), opts);
}

/** writeConfigAtomic for text that is not JSON (a containerd config.toml). */
export function writeFileAtomic(path: string, text: string, opts: Pick<WriteOptions, "mode" | "durable"> = {}): void {
  const before = existing(path);
  const mode = before ? before.mode & 0o7777 : (opts.mode ?? 0o644);
  const dir = dirname(path);
  // Web Crypto rather than node:crypto, which costs the shim a module load on every create
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${crypto.getRandomValues(new Uint32Array(1))[0]!.toString(16)}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, "wx", 0o600);
    // the umask shaped the creation mode; set the original's exactly
    fchmodSync(fd, mode);
    if (before && (process.getuid?.() === 0) && (before.uid !== 0 || before.gid !== 0)) fchownSync(fd, before.uid, before.gid);
    const data = Buffer.from(text, "utf8");
    for (let off = 0; off < data.length; ) off += writeSync(fd, data, off, data.length - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // never created, or already renamed
    }
    throw new Error(`${path}: cannot write: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (opts.durable === false) return;
  const dfd = openSync(dir, "r");
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
}
