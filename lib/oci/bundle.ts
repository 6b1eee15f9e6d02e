// A bundle's config.json: read with a size limit and validated; written back atomically with the
// original's mode and owner, its key order and every field this code does not know.
// lib/sys, not node:fs: loading node:fs costs the shim about a millisecond on every create that writes
import { fchmod, fchown, fsync, rename, unlink } from "../sys/file.ts";
import { O, close, open, writeAll } from "../sys/io.ts";
import { stat, type FileStat } from "../sys/stat.ts";
import { isErrno } from "../sys/error.ts";
import { utf8Bytes } from "../sys/struct.ts";
import { basename, dirname, join } from "../posix-path.ts";
import { stringifyJson } from "./json.ts";
import { SpecSchema, type Spec } from "./spec.ts";
import { readConfigAs, type LoadedConfigOf } from "./config-file.ts";
export { CONFIG_SIZE_LIMIT, configPath, problemLine } from "./config-file.ts";

export type LoadedConfig = LoadedConfigOf<Spec>;

/** Reads `bundle/config.json` (or the file given) and validates it against runtime-spec v1.2. */
export function readConfig(bundleOrFile: string): LoadedConfig {
  return readConfigAs(SpecSchema, bundleOrFile);
}

function existing(path: string): FileStat | undefined {
  try {
    return stat(path);
  } catch (e) {
    if (isErrno(e, "ENOENT")) return undefined;
    throw new Error(`${path}: cannot stat: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}

export interface WriteOptions {
  /** JSON.stringify indentation; compact (as podman and containerd write it) when absent */
  indent?: string | number;
  /** mode of a file that does not exist yet */
  mode?: number;
  /**
   * fsync the file before the rename and the directory after it, so the new file survives a crash
   * whole (default). The shim passes false for a bundle's config.json: the container it is created
   * for does not outlive a crash, and the engine writes the bundle again before it creates one
   * (containerd makes a new bundle per task, podman regenerates config.json when it initializes a
   * container). Readers still see the old file or the new one, never a partial write (the rename);
   * only a crash may leave it empty on a filesystem that does not flush a file renamed over another
   * (ext4 does). That saves two disk syncs, about a millisecond, on every container create.
   */
  durable?: boolean;
}

/**
 * Replaces `path` with `obj` as JSON: a temporary file in the same directory, fsync, rename over
 * the original, fsync of the directory (neither sync when opts.durable is false). A reader (the runtime) sees the old file or the new one,
 * never a partial write. The original's permission bits and owner carry over.
 */
export function writeConfigAtomic(path: string, obj: unknown, opts: WriteOptions = {}): void {
  writeFileAtomic(path, stringifyJson(obj, opts.indent), opts);
}

/** writeConfigAtomic for text that is not JSON (a containerd config.toml). */
export function writeFileAtomic(path: string, text: string, opts: Pick<WriteOptions, "mode" | "durable"> = {}): void {
  const durable = opts.durable !== false;
  const before = existing(path);
  const mode = before ? before.mode & 0o7777 : (opts.mode ?? 0o644);
  const dir = dirname(path);
  // Web Crypto rather than node:crypto, which costs the shim a module load on every create
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${crypto.getRandomValues(new Uint32Array(1))[0]!.toString(16)}.tmp`);
  let fd: number | undefined;
  try {
    fd = open(tmp, O.WRONLY | O.CREAT | O.EXCL, 0o600);
    // the umask shaped the creation mode; set the original's exactly
    fchmod(fd, mode);
    if (before && process.getuid?.() === 0 && (before.uid !== 0 || before.gid !== 0)) fchown(fd, before.uid, before.gid);
    writeAll(fd, utf8Bytes(text));
    if (durable) fsync(fd);
    close(fd);
    fd = undefined;
    rename(tmp, path);
  } catch (e) {
    if (fd !== undefined) close(fd);
    try {
      unlink(tmp);
    } catch {
      // never created, or already renamed
    }
    throw new Error(`${path}: cannot write: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (!durable) return;
  const dfd = open(dir, O.RDONLY | O.DIRECTORY);
  try {
    fsync(dfd);
  } finally {
    close(dfd);
  }
}
