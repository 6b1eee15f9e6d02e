// Mounts and filesystem identity.
import { ptr } from "bun:ffi";
import { libc, errno } from "./libc.ts";
import { SyscallError } from "./error.ts";
import { cStringBytes } from "./struct.ts";

const c = cStringBytes;

export const MS = { RDONLY: 1, NOSUID: 2, NODEV: 4, NOEXEC: 8, BIND: 4096, REC: 16384, PRIVATE: 1 << 18 } as const;
export const MNT_DETACH = 2;

export function mount(source: string, target: string, fstype: string, flags = 0, data = ""): void {
  if (libc.mount(c(source), c(target), c(fstype), BigInt(flags), c(data)) < 0)
    throw new SyscallError("mount", errno(), `${fstype} on ${target}`);
}

export function umount(target: string, flags = 0): void {
  if (libc.umount2(c(target), flags) < 0) throw new SyscallError("umount2", errno(), target);
}

export const FS_MAGIC = {
  BPF: 0xcafe4a11,
  CGROUP2: 0x63677270,
  CGROUP: 0x27e0eb,
  TRACEFS: 0x74726163,
  DEBUGFS: 0x64626720,
  TMPFS: 0x01021994,
  PROC: 0x9fa0,
} as const;

/** f_type of the filesystem holding `path` (statfs(2)). */
export function statfsType(path: string): number {
  const buf = new Uint8Array(120); // struct statfs on 64-bit
  if (libc.statfs(c(path), ptr(buf)) < 0) throw new SyscallError("statfs", errno(), path);
  return Number(new DataView(buf.buffer).getBigInt64(0, true)) >>> 0;
}

export function isFsType(path: string, magic: number): boolean {
  try {
    return statfsType(path) === magic;
  } catch {
    return false;
  }
}
