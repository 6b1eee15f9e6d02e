// Which runtime the shim execs. A runtime shim runs as root for every container on the host, so the
// program it hands the container to must be one only root could have put there, and must not be
// the shim itself (installed as `runc` in /usr/local/sbin, a PATH search would otherwise find the
// shim first and exec it forever). The file is opened once (O_PATH), every check is made on that
// fd, and the fd is what gets exec'd (execveat AT_EMPTY_PATH): a path swapped between the check and
// the exec changes nothing.
import { dirname, join } from "../lib/posix-path.ts";
// Syscalls from lib/sys, not node:fs (a millisecond to load), and io.ts and stat.ts alone, not
// lib/sys/index.ts: every pass-through command loads this module.
import { O, close, open, read, setCloseOnExec } from "../lib/sys/io.ts";
import { fstat, readlink, stat, tryStat, type FileStat } from "../lib/sys/stat.ts";

/** The fixed search path: never the caller's $PATH, which the caller (or its user) controls. */
export const SYSTEM_PATH = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];
export const RUNTIME_NAMES = ["runc", "crun"];

/** A file's identity: two paths (a symlink, a hard link, the realpath) name one file when these match. */
export interface FileIdentity {
  dev: number;
  ino: bigint;
}

export class LowerRuntimeError extends Error {
  readonly exitCode = 1;
  constructor(message: string) {
    super(message);
    this.name = "LowerRuntimeError";
  }
}

export function identityOf(path: string): FileIdentity | undefined {
  const st = tryStat(path);
  return st && { dev: st.dev, ino: st.ino };
}

/** This process's executable: the compiled hookshim, or bun when run as a script. */
export function selfIdentity(): FileIdentity | undefined {
  return identityOf(process.execPath);
}

function sameFile(st: FileIdentity, id: FileIdentity | undefined): boolean {
  return id !== undefined && st.dev === id.dev && st.ino === id.ino;
}

/** Why a runtime with these (symlink-followed) attributes must not be run, or undefined when it may. */
export function unsafeReason(st: Pick<FileStat, "uid" | "mode" | "isFile">): string | undefined {
  if (!st.isFile()) return "is not a regular file";
  if (st.uid !== 0) return `is owned by uid ${st.uid}, not root`;
  if (st.mode & 0o022) return `is writable by ${st.mode & 0o020 ? "its group" : "others"} (mode ${(st.mode & 0o7777).toString(8).padStart(4, "0")})`;
  if (!(st.mode & 0o111)) return "is not executable";
  return undefined;
}

/**
 * Why a directory above the runtime lets someone other than root replace what it holds, or undefined.
 * A sticky directory (/tmp) may be writable by all: only an entry's owner (root, as checked one
 * level down) can rename or remove it there.
 */
export function unsafeDirReason(st: Pick<FileStat, "uid" | "mode">): string | undefined {
  if (st.uid !== 0) return `is owned by uid ${st.uid}, not root`;
  if (st.mode & 0o022 && !(st.mode & 0o1000)) return `is writable by ${st.mode & 0o020 ? "its group" : "others"} (mode ${(st.mode & 0o7777).toString(8).padStart(4, "0")})`;
  return undefined;
}

/** The runtime to exec: `fd` (O_PATH, close-on-exec unless the file is a script) is what was checked. */
export interface LowerRuntime {
  path: string;
  fd: number;
}

function openPath(path: string, what: string): number {
  try {
    return open(path, O.PATH | O.CLOEXEC);
  } catch (e) {
    throw new LowerRuntimeError(`${what} ${path}: ${(e as { code?: string }).code ?? String(e)}`);
  }
}

/** "#!" at the start of the file behind an O_PATH fd (read through /proc/self/fd: the same file, not the path). */
function isScript(fd: number): boolean {
  let rfd = -1;
  try {
    rfd = open(`/proc/self/fd/${fd}`, O.RDONLY | O.CLOEXEC | O.NONBLOCK);
    const b = new Uint8Array(2);
    return read(rfd, b) === 2 && b[0] === 0x23 && b[1] === 0x21;
  } catch {
    return false;
  } finally {
    close(rfd);
  }
}

/**
 * Opens `path` (following symlinks) and refuses it when it is the shim or unsafe to run as root:
 * the file through the fd, then every directory above the file it resolved to.
 */
export function openLowerRuntime(path: string, self: FileIdentity | undefined, what = "lower runtime"): LowerRuntime {
  const fd = openPath(path, what);
  try {
    const st = fstat(fd);
    if (sameFile(st, self)) throw new LowerRuntimeError(`${what} ${path} is this shim itself: set runtime.path to the real runc`);
    const reason = unsafeReason(st);
    if (reason) throw new LowerRuntimeError(`${what} ${path} ${reason}: refusing to run it`);
    const real = readlink(`/proc/self/fd/${fd}`);
    for (let dir = dirname(real); ; dir = dirname(dir)) {
      const why = unsafeDirReason(stat(dir));
      if (why) throw new LowerRuntimeError(`${what} ${path}: directory ${dir} ${why}: refusing to run it`);
      if (dir === "/") break;
    }
    // a script's interpreter opens it as /dev/fd/N, so that fd must survive the exec
    if (isScript(fd)) setCloseOnExec(fd, false);
    return { path, fd };
  } catch (e) {
    close(fd);
    throw e;
  }
}

/** Refuses `path` (after following symlinks) when it is the shim or unsafe to run as root. */
export function checkLowerRuntime(path: string, self: FileIdentity | undefined, what = "lower runtime"): void {
  close(openLowerRuntime(path, self, what).fd);
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
export function findLowerRuntime(opts: LowerRuntimeOptions): LowerRuntime {
  if (opts.configured !== null) return openLowerRuntime(opts.configured, opts.self, "runtime.path");
  const dirs = opts.dirs ?? SYSTEM_PATH;
  const names = opts.names ?? RUNTIME_NAMES;
  for (const name of names)
    for (const dir of dirs) {
      const path = join(dir, name);
      const st = tryStat(path);
      if (st === undefined || sameFile(st, opts.self)) continue;
      return openLowerRuntime(path, opts.self);
    }
  throw new LowerRuntimeError(`no lower runtime: none of ${names.join(", ")} in ${dirs.join(":")} (other than this shim); set runtime.path`);
}
