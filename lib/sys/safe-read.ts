// Reading a file whose path someone else controls (a bundle's config.json, a pid file, a runtime's
// state file): the open never blocks (a FIFO), never follows a symlink in the last component, the
// fd must be a regular file within a size bound, and the read stops at that bound (/dev/zero, a
// file that grows). Errors name the path and the problem, never the contents.
import { O, open, read, close } from "./io.ts";
import { fstat, type FileStat } from "./stat.ts";
import { SyscallError } from "./error.ts";
import { utf8 } from "./struct.ts";

export type BoundedReadProblem = "missing" | "symlink" | "not-regular" | "too-large" | "owner" | "unreadable";

export class BoundedReadError extends Error {
  constructor(
    readonly path: string,
    readonly problem: BoundedReadProblem,
    detail: string,
  ) {
    super(`${path}: ${detail}`);
    this.name = "BoundedReadError";
  }
}

export interface BoundedReadOptions {
  /** largest accepted size in bytes */
  maxBytes: number;
  /** refuse a file whose owner is not this uid (the uid whose claim the file carries) */
  ownerUid?: number;
}

/** The bytes of the regular file at `path`, opened O_NONBLOCK|O_NOFOLLOW|O_NOCTTY|O_CLOEXEC. */
export function readBoundedFile(path: string, o: BoundedReadOptions): { bytes: Uint8Array; stat: FileStat } {
  let fd: number;
  try {
    fd = open(path, O.RDONLY | O.NONBLOCK | O.NOFOLLOW | O.NOCTTY | O.CLOEXEC);
  } catch (e) {
    const code = e instanceof SyscallError ? e.code : "error";
    if (code === "ENOENT" || code === "ENOTDIR") throw new BoundedReadError(path, "missing", code);
    if (code === "ELOOP") throw new BoundedReadError(path, "symlink", "is a symbolic link: not followed");
    throw new BoundedReadError(path, "unreadable", code);
  }
  try {
    const stat = fstat(fd);
    if (!stat.isFile()) throw new BoundedReadError(path, "not-regular", "is not a regular file");
    if (o.ownerUid !== undefined && stat.uid !== o.ownerUid)
      throw new BoundedReadError(path, "owner", `is owned by uid ${stat.uid}, not uid ${o.ownerUid}`);
    if (stat.size > o.maxBytes) throw new BoundedReadError(path, "too-large", `larger than ${o.maxBytes} bytes`);
    // one byte more than the bound: a file that grew after fstat is refused, not cut short
    const buf = new Uint8Array(o.maxBytes + 1);
    let n = 0;
    for (;;) {
      let got: number;
      try {
        got = read(fd, buf.subarray(n), "read");
      } catch (e) {
        throw new BoundedReadError(path, "unreadable", e instanceof SyscallError ? e.code : "read error");
      }
      if (got <= 0) break; // 0: end of file; -EAGAIN cannot happen on a regular file
      n += got;
      if (n > o.maxBytes) throw new BoundedReadError(path, "too-large", `larger than ${o.maxBytes} bytes`);
    }
    return { bytes: buf.subarray(0, n), stat };
  } finally {
    close(fd);
  }
}

/** readBoundedFile as UTF-8 text. */
export function readBoundedText(path: string, o: BoundedReadOptions): string {
  return utf8(readBoundedFile(path, o).bytes);
}
