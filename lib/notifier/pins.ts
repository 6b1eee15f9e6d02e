// The runtime binaries' FAN_OPEN_EXEC_PERM marks, one per file, each made through an fd kept open so
// the marked inode stays the one its path finds (why: permission.ts's opening comment).
//
// update() follows the files: a path that names another inode now (renamed over, reinstalled) gets a
// new pin and mark; a pin whose file is gone from the listed paths is closed. The old inode's mark is
// not removed: it goes when the inode is freed, which the closed pin no longer prevents (and its
// space with it), while a process still running the old binary (runc re-executing /proc/self/exe)
// keeps it and is still seen. Stale pins are closed before new ones are opened, so there are never
// more pins than listed paths (run.ts's fd budget counts on it).
import { fanotifyMarkFile, FAN, open, O, close, fstat, tryStat, type FileStat } from "../sys/index.ts";
import type { RuntimeBinary } from "./paths.ts";

export type PinChange = { realPath: string; change: "appeared" | "replaced" | "removed" };

export class RuntimePins {
  /** real path -> the fd holding the marked inode */
  private readonly fds = new Map<string, number>();

  constructor(private readonly fanFd: number) {}

  /** the real paths marked */
  get marked(): string[] {
    return [...this.fds.keys()];
  }

  /**
   * Pins and marks each runtime's file, and lets go of what is no longer among them. A file that
   * cannot be pinned is passed to `failed` (which may throw, as at the start) and skipped.
   */
  update(runtimes: readonly RuntimeBinary[], failed: (realPath: string, e: unknown) => void): PinChange[] {
    const changes: PinChange[] = [];
    const wanted = new Map<string, FileStat | undefined>(runtimes.map((r) => [r.realPath, tryStat(r.realPath)]));
    const replaced = new Set<string>();
    for (const [realPath, fd] of this.fds) {
      const now = wanted.get(realPath);
      if (now && sameFile(now, fstat(fd))) continue;
      close(fd);
      this.fds.delete(realPath);
      if (now) replaced.add(realPath);
      else changes.push({ realPath, change: "removed" });
    }
    for (const realPath of wanted.keys()) {
      if (this.fds.has(realPath)) continue;
      try {
        this.fds.set(realPath, this.pin(realPath));
        changes.push({ realPath, change: replaced.has(realPath) ? "replaced" : "appeared" });
      } catch (e) {
        if (replaced.has(realPath)) changes.push({ realPath, change: "removed" });
        failed(realPath, e);
      }
    }
    return changes;
  }

  closeAll(): void {
    for (const fd of this.fds.values()) close(fd);
    this.fds.clear();
  }

  /** An fd on the regular file at `realPath`, marked. */
  private pin(realPath: string): number {
    // O_NONBLOCK|O_NOFOLLOW: a FIFO or a symlink put in the file's place since it was resolved must
    // neither hang the open nor lead elsewhere; fstat checks what was opened
    const fd = open(realPath, O.RDONLY | O.NONBLOCK | O.NOFOLLOW);
    try {
      if (!fstat(fd).isFile()) throw new Error(`${realPath} is not a regular file`);
      fanotifyMarkFile(this.fanFd, FAN.MARK_ADD, FAN.OPEN_EXEC_PERM, fd, realPath);
      return fd;
    } catch (e) {
      close(fd);
      throw e;
    }
  }
}

function sameFile(a: FileStat, b: FileStat): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}
