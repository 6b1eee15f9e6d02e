import { libc, errno } from "./libc.ts";
import { SyscallError } from "./error.ts";
import { read } from "./io.ts";
import { cString, cStringBytes } from "./struct.ts";

export const IN = {
  ACCESS: 0x1, MODIFY: 0x2, ATTRIB: 0x4, CLOSE_WRITE: 0x8, OPEN: 0x20, MOVED_FROM: 0x40, MOVED_TO: 0x80,
  CREATE: 0x100, DELETE: 0x200, DELETE_SELF: 0x400, MOVE_SELF: 0x800, UNMOUNT: 0x2000, Q_OVERFLOW: 0x4000,
  IGNORED: 0x8000, ONLYDIR: 0x1000000, NONBLOCK: 0o4000, CLOEXEC: 0o2000000,
} as const;

export interface InotifyEvent {
  wd: number;
  mask: number;
  cookie: number;
  name: string;
}

export function inotifyInit(flags: number = IN.NONBLOCK | IN.CLOEXEC): number {
  const fd = libc.inotify_init1(flags);
  if (fd < 0) throw new SyscallError("inotify_init1", errno());
  return fd;
}

export function inotifyAddWatch(fd: number, path: string, mask: number): number {
  const wd = libc.inotify_add_watch(fd, cStringBytes(path), mask);
  if (wd < 0) throw new SyscallError("inotify_add_watch", errno(), path);
  return wd;
}

export function inotifyRmWatch(fd: number, wd: number): void {
  libc.inotify_rm_watch(fd, wd);
}

/** Drain a non-blocking inotify fd; [] when nothing is pending. */
export function inotifyRead(fd: number, buf = new Uint8Array(4096)): InotifyEvent[] {
  const n = read(fd, buf, "read(inotify)");
  if (n <= 0) return [];
  const dv = new DataView(buf.buffer, buf.byteOffset);
  const out: InotifyEvent[] = [];
  for (let off = 0; off + 16 <= n; ) {
    const len = dv.getUint32(off + 12, true);
    out.push({
      wd: dv.getInt32(off, true),
      mask: dv.getUint32(off + 4, true),
      cookie: dv.getUint32(off + 8, true),
      name: len ? cString(buf, off + 16, len) : "",
    });
    off += 16 + len;
  }
  return out;
}
