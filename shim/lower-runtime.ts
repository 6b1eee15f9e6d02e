// Which runtime the shim execs. A runtime shim runs as root for every container on the host, so the
// program it hands the container to must be one only root could have put there, and must not be
// the shim itself (installed as `runc` in /usr/local/sbin, a PATH search would otherwise find the
// shim first and exec it forever).
import { statSync, type Stats } from "node:fs";
import { join } from "node:path";

/** The fixed search path: never the caller's $PATH, which the caller (or its user) controls. */
export const SYSTEM_PATH = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];
export const RUNTIME_NAMES = ["runc", "crun"];

/** A file's identity: two paths (a symlink, a hard link, the realpath) name one file when these match. */
export interface FileIdentity {
  dev: number;
  ino: number;
}

export class LowerRuntimeError extends Error {
  readonly exitCode = 1;
  constructor(message: string) {
    super(message);
    this.name = "LowerRuntimeError";
  }
}

export function identityOf(path: string): FileIdentity | undefined {
  try {
    const st = statSync(path);
    return { dev: st.dev, ino: st.ino };
  } catch {
    return undefined;
  }
}

/** This process's executable: the compiled hookshim, or bun when run as a script. */
export function selfIdentity(): FileIdentity | undefined {
  return identityOf(process.execPath);
}

function sameFile(st: Stats, id: FileIdentity | undefined): boolean {
  return id !== undefined && st.dev === id.dev && st.ino === id.ino;
}

/** Why a runtime with these (symlink-followed) attributes must not be run, or undefined when it may. */
export function unsafeReason(st: Pick<Stats, "uid" | "mode" | "isFile">): string | undefined {
  if (!st.isFile()) return "is not a regular file";
  if (st.uid !== 0) return `is owned by uid ${st.uid}, not root`;
  if (st.mode & 0o022) return `is writable by ${st.mode & 0o020 ? "its group" : "others"} (mode ${(st.mode & 0o7777).toString(8).padStart(4, "0")})`;
  if (!(st.mode & 0o111)) return "is not executable";
  return undefined;
}

function statOrThrow(path: string, what: string): Stats {
  try {
    return statSync(path);
  } catch (e) {
    throw new LowerRuntimeError(`${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}

/** Refuses `path` (after following symlinks) when it is the shim or unsafe to run as root. */
export function checkLowerRuntime(path: string, self: FileIdentity | undefined, what = "lower runtime"): void {
  const st = statOrThrow(path, what);
  if (sameFile(st, self)) throw new LowerRuntimeError(`${what} ${path} is this shim itself: set runtime.path to the real runc`);
  const reason = unsafeReason(st);
  if (reason) throw new LowerRuntimeError(`${what} ${path} ${reason}: refusing to run it`);
}

export interface LowerRuntimeOptions {
  /** runtime.path from the configuration; null searches */
  configured: string | null;
  self: FileIdentity | undefined;
  dirs?: readonly string[];
  names?: readonly string[];
}

/**
 * The configured runtime, else the first of runc, crun on SYSTEM_PATH that is not the shim. A
 * candidate that is found but unsafe is refused rather than passed over: running some other
 * runtime than the one the host's PATH order names would surprise the operator.
 */
export function findLowerRuntime(opts: LowerRuntimeOptions): string {
  if (opts.configured !== null) {
    checkLowerRuntime(opts.configured, opts.self, "runtime.path");
    return opts.configured;
  }
  const dirs = opts.dirs ?? SYSTEM_PATH;
  const names = opts.names ?? RUNTIME_NAMES;
  for (const name of names)
    for (const dir of dirs) {
      const path = join(dir, name);
      let st: Stats;
      try {
        st = statSync(path);
      } catch {
        continue;
      }
      if (sameFile(st, opts.self)) continue;
      checkLowerRuntime(path, opts.self);
      return path;
    }
  throw new LowerRuntimeError(`no lower runtime: none of ${names.join(", ")} in ${dirs.join(":")} (other than this shim); set runtime.path`);
}
