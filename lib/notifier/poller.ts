// One readiness loop for everything the notifier waits on after a runtime exec: pid files appearing
// (inotify on their directories), runtimes and containers exiting (pidfds). poll(2) with a zero
// timeout on a short timer keeps the FFI call from ever blocking the event loop; the timer only runs
// while something is watched.
import { pollIn, inotifyInit, inotifyAddWatch, inotifyRmWatch, inotifyRead, IN, close } from "../sys/index.ts";
import { basename, dirname } from "node:path";

export const TICK_MS = 1;

interface DirWatch {
  wd: number;
  /** file name -> callbacks waiting for it */
  names: Map<string, Set<() => void>>;
}

export class Poller {
  private inotifyFd = -1;
  private readonly dirs = new Map<string, DirWatch>();
  private readonly byWd = new Map<number, DirWatch>();
  private readonly fds = new Map<number, () => void>();
  private timer?: ReturnType<typeof setInterval>;

  /** Calls `onChange` whenever `path` is created, written and closed, or renamed into place. */
  watchFile(path: string, onChange: () => void): () => void {
    if (this.inotifyFd < 0) this.inotifyFd = inotifyInit();
    const dir = dirname(path), name = basename(path);
    let w = this.dirs.get(dir);
    if (!w) {
      const wd = inotifyAddWatch(this.inotifyFd, dir, IN.CLOSE_WRITE | IN.MOVED_TO | IN.CREATE | IN.ONLYDIR);
      w = { wd, names: new Map() };
      this.dirs.set(dir, w);
      this.byWd.set(wd, w);
    }
    let set = w.names.get(name);
    if (!set) w.names.set(name, (set = new Set()));
    set.add(onChange);
    this.arm();
    const watch = w;
    return () => {
      set!.delete(onChange);
      if (set!.size === 0) watch.names.delete(name);
      if (watch.names.size === 0 && this.dirs.get(dir) === watch) {
        this.dirs.delete(dir);
        this.byWd.delete(watch.wd);
        inotifyRmWatch(this.inotifyFd, watch.wd);
      }
      this.disarmIfIdle();
    };
  }

  /** Calls `onReady` once when `fd` (a pidfd) becomes readable; the caller closes the fd. */
  watchFd(fd: number, onReady: () => void): () => void {
    this.fds.set(fd, onReady);
    this.arm();
    return () => {
      this.fds.delete(fd);
      this.disarmIfIdle();
    };
  }

  get watching(): number {
    return this.fds.size + this.dirs.size;
  }

  private arm(): void {
    this.timer ??= setInterval(() => this.tick(), TICK_MS);
  }

  private disarmIfIdle(): void {
    if (this.watching === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private tick(): void {
    const fds = [...this.fds.keys()];
    if (this.dirs.size) fds.push(this.inotifyFd);
    if (!fds.length) return;
    for (const fd of pollIn(fds, 0)) {
      if (fd === this.inotifyFd && this.dirs.size) {
        for (const ev of inotifyRead(this.inotifyFd)) {
          const callbacks = this.byWd.get(ev.wd)?.names.get(ev.name);
          if (callbacks) for (const cb of [...callbacks]) cb();
        }
        continue;
      }
      const cb = this.fds.get(fd);
      if (cb) {
        this.fds.delete(fd);
        cb();
      }
    }
    this.disarmIfIdle();
  }

  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.fds.clear();
    this.dirs.clear();
    this.byWd.clear();
    close(this.inotifyFd);
    this.inotifyFd = -1;
  }
}
