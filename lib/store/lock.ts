// The store's writer lock: flock(2) on the pin directory in bpffs. Writers that read-modify-write
// (event sequence, container records, trace ids) hold it for a few map operations; readers never
// take it. The kernel drops it when the holder dies, so a killed hook cannot wedge the store.
import { open, close, flock, LOCK, O } from "../sys/index.ts";

export class DirLock {
  private readonly fd: number;
  private depth = 0;

  constructor(readonly dir: string) {
    this.fd = open(dir, O.RDONLY | O.DIRECTORY);
  }

  /** Runs fn with the lock held; nested calls from the same holder do not deadlock. */
  hold<T>(fn: () => T): T {
    if (this.depth === 0) flock(this.fd, LOCK.EX);
    this.depth++;
    try {
      return fn();
    } finally {
      if (--this.depth === 0) flock(this.fd, LOCK.UN);
    }
  }

  close(): void {
    close(this.fd);
  }
}
