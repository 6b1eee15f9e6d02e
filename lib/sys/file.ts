// Whole files and directories as raw syscalls, for the hooks: node:fs costs a Bun process a
// millisecond or two and 2.5 MiB to load, and a hook needs only these few calls on files it trusts
// (cgroupfs, /proc, sysfs, its own store and config). Files someone else controls go through
// safe-read.ts. Failures are SyscallErrors, whose `code` is the errno name as node's errors carry it.
import { libc, errno, syscall6, SYS } from "./libc.ts";
import { SyscallError } from "./error.ts";
import { Errno } from "./errno.ts";
import { open, close, read, O } from "./io.ts";
import { lstat, tryLstat } from "./stat.ts";
import { addressOf, cStringBytes, utf8 } from "./struct.ts";


/** All of the file at `path`; more than `limit` bytes is an EFBIG SyscallError. */
export function readFile(path: string, limit = 16 * 1024 * 1024): Uint8Array {
  const fd = open(path, O.RDONLY | O.NOCTTY);
  try {
    // most files a hook reads (cgroupfs, /proc) are far below a page; stat cannot tell their size
    let buf = new Uint8Array(4096);
    let n = 0;
    for (;;) {
      if (n === buf.length) {
        const bigger = new Uint8Array(buf.length * 4);
        bigger.set(buf);
        buf = bigger;
      }
      const got = read(fd, buf.subarray(n), "read");
      if (got <= 0) break;
      n += got;
      if (n > limit) throw new SyscallError("read", Errno.EFBIG, path);
    }
    return buf.subarray(0, n);
  } finally {
    close(fd);
  }
}

/** readFile as UTF-8. */
export function readText(path: string, limit?: number): string {
  return utf8(readFile(path, limit));
}

/** mkdir(2); `recursive` creates missing parents and accepts an existing directory, as `mkdir -p`. */
export function mkdir(path: string, mode = 0o777, recursive = false): void {
  if (libc.mkdir(cStringBytes(path), mode) === 0) return;
  const e = errno();
  if (recursive && e === Errno.EEXIST && tryLstat(path)?.isDirectory()) return;
  if (recursive && e === Errno.ENOENT) {
    const parent = path.replace(/\/+[^/]*\/*$/, "");
    if (parent && parent !== path) {
      mkdir(parent, mode, true);
      return mkdir(path, mode, true);
    }
  }
  throw new SyscallError("mkdir", e, path);
}


export function rmdir(path: string): void {
  if (libc.rmdir(cStringBytes(path)) < 0) throw new SyscallError("rmdir", errno(), path);
}

export function unlink(path: string): void {
  if (libc.unlink(cStringBytes(path)) < 0) throw new SyscallError("unlink", errno(), path);
}

export function rename(from: string, to: string): void {
  if (libc.rename(cStringBytes(from), cStringBytes(to)) < 0) throw new SyscallError("rename", errno(), `${from} -> ${to}`);
}

export function fchmod(fd: number, mode: number): void {
  if (libc.fchmod(fd, mode) < 0) throw new SyscallError("fchmod", errno(), `fd ${fd}`);
}

export function fchown(fd: number, uid: number, gid: number): void {
  if (libc.fchown(fd, uid, gid) < 0) throw new SyscallError("fchown", errno(), `fd ${fd}`);
}

export function fsync(fd: number): void {
  if (libc.fsync(fd) < 0) throw new SyscallError("fsync", errno(), `fd ${fd}`);
}

/** `rm -rf path`: nothing there is not an error, a symlink is removed, not followed. */
export function removeTree(path: string): void {
  let st;
  try {
    st = lstat(path);
  } catch (e) {
    if (e instanceof SyscallError && e.code === "ENOENT") return;
    throw e;
  }
  if (st.isDirectory()) {
    for (const entry of readdir(path)) removeTree(`${path}/${entry.name}`);
    rmdir(path);
  } else unlink(path);
}

const DT_DIR = 4;
const DT_UNKNOWN = 0;

export interface DirEntry {
  name: string;
  isDirectory(): boolean;
}

/** The entries of the directory at `path` (not "." and ".."), with their types (getdents64). */
export function readdir(path: string): DirEntry[] {
  const fd = open(path, O.RDONLY | O.DIRECTORY);
  const out: DirEntry[] = [];
  try {
    const buf = new Uint8Array(32 * 1024);
    const v = new DataView(buf.buffer);
    for (;;) {
      const n = syscall6(SYS.getdents64, fd, addressOf(buf), buf.byteLength, 0, 0, 0);
      if (n < 0) throw new SyscallError("getdents64", errno(), path);
      if (n === 0) break;
      // struct linux_dirent64: d_ino u64, d_off s64, d_reclen u16, d_type u8, d_name (NUL-terminated)
      for (let off = 0; off < n; ) {
        const reclen = v.getUint16(off + 16, true);
        const type = buf[off + 18]!;
        const end = buf.indexOf(0, off + 19);
        const name = utf8(buf.subarray(off + 19, end));
        off += reclen;
        if (name === "." || name === "..") continue;
        const dir = type === DT_UNKNOWN ? () => tryLstat(`${path}/${name}`)?.isDirectory() ?? false : () => type === DT_DIR;
        out.push({ name, isDirectory: dir });
      }
    }
  } finally {
    close(fd);
  }
  return out;
}
