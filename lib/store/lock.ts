// The store's writer lock: flock(2) on the pin directory in bpffs. Writers that read-modify-write
// (event sequence, container records, trace ids) hold it for a few map operations; readers never
// take it. The kernel drops it when the holder dies, so a killed hook cannot wedge the store, and a
// live holder that hangs cannot either: waiters give up after `timeoutMs` (StoreLockTimeoutError).
import { open, close, flock, isErrno, LOCK, O } from "../sys/index.ts";
import { StoreLockTimeoutError } from "./errors.ts";

/** Longer than any holder needs (reconciling a full store takes tens of ms), far shorter than a hook timeout. */
export const LOCK_TIMEOUT_MS = 5_000;

export class DirLock {
  private readonly fd: number;
  private depth = 0;

  constructor(
    readonly dir: string,
    readonly timeoutMs = LOCK_TIMEOUT_MS,
  ) {
    this.fd = open(dir, O.RDONLY | O.DIRECTORY | O.CLOEXEC);
  }

  /** Runs fn with the lock held; nested calls from the same holder do not deadlock. */
  hold<T>(fn: () => T): T {
    if (this.depth === 0) this.acquire();
    this.depth++;
    try {
      return fn();
    } finally {
      if (--this.depth === 0) flock(this.fd, LOCK.UN);
    }
  }

  /** Non-blocking attempts (EWOULDBLOCK is EAGAIN) with a short back-off: a blocking flock has no deadline. */
  private acquire(): void {
    const start = Date.now();
    for (let pause = 0.2; ; pause = Math.min(pause * 2, 10)) {
      try {
        flock(this.fd, LOCK.EX | LOCK.NB);
        return;
      } catch (e) {
        if (!isErrno(e, "EAGAIN")) throw e;
      }
      const waited = Date.now() - start;
      if (waited >= this.timeoutMs) throw new StoreLockTimeoutError(this.dir, waited);
      Bun.sleepSync(pause);
    }
  }

  close(): void {
    close(this.fd);
  }
}
