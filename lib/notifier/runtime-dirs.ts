// Where a listed runtime path can change what it names: inotify on every directory its lookup goes
// through, for the one name looked up there. A package upgrade renames runc.dpkg-new over
// /usr/sbin/runc, `install` unlinks and creates the file, crun is installed after the notifier
// started, /bin is a symlink to usr/bin, k3s re-points data/current at a new version: each is an
// event in one of these directories, and each leaves the fanotify mark on an inode the path no longer
// names (pins.ts). A directory that does not exist yet is watched through its parent, for its own
// name (/usr/libexec for "podman" until /usr/libexec/podman appears, then that directory for
// "conmon").
//
// Events are only a hint: one for a name that matters (or a queue overflow, or a watched directory
// gone) makes check() re-plan the watches and return true, and the caller re-resolves every listed
// path. Anything else a user does in these directories (filling /usr/local/bin) costs a map lookup
// per event, never a stat; the reads per check and the steps of a lookup are bounded.
import { dirname, join, resolve } from "../posix-path.ts";
import { inotifyInit, inotifyAddWatch, inotifyRmWatch, inotifyRead, IN, close, tryLstat, readlink, isErrno } from "../sys/index.ts";

const MASK = IN.MOVED_TO | IN.MOVED_FROM | IN.CREATE | IN.DELETE | IN.CLOSE_WRITE | IN.ATTRIB | IN.DELETE_SELF | IN.MOVE_SELF | IN.ONLYDIR;
/** reads of 4 KiB per check; what is left waits for the next (or overflows the queue, which re-plans) */
const MAX_READS_PER_CHECK = 16;
/** components looked up per listed path, symlink targets included (the kernel allows 40 links) */
const MAX_STEPS = 64;

export class RuntimeDirWatch {
  private readonly fd: number;
  /** watch descriptor -> the names in its directory that matter */
  private names = new Map<number, Set<string>>();
  private readonly buf = new Uint8Array(4096);
  /** errors said once each: a re-plan per event must not repeat them */
  private readonly said = new Set<string>();

  constructor(
    private readonly paths: readonly string[],
    private readonly onError: (message: string) => void,
  ) {
    this.fd = inotifyInit();
    this.plan();
  }

  /** directories watched */
  get directories(): number {
    return this.names.size;
  }

  /** Reads what happened (never blocks); true when a listed path may name another file now. */
  check(): boolean {
    let changed = false;
    for (let i = 0; i < MAX_READS_PER_CHECK; i++) {
      const events = inotifyRead(this.fd, this.buf);
      if (!events.length) break;
      for (const ev of events) {
        const names = this.names.get(ev.wd);
        if (ev.mask & IN.Q_OVERFLOW) changed = true;
        // IN_IGNORED of a watch still planned: its directory went away (our own removals are unplanned first)
        else if (names && (ev.mask & (IN.IGNORED | IN.DELETE_SELF | IN.MOVE_SELF) || names.has(ev.name))) changed = true;
      }
    }
    if (changed) this.plan();
    return changed;
  }

  close(): void {
    close(this.fd);
    this.names.clear();
  }

  /**
   * Watches each directory on the way of every listed path. The watch is added before the name is
   * looked up in it, so a change after the lookup is an event, and one before is seen by the lookup.
   */
  private plan(): void {
    const next = new Map<number, Set<string>>();
    for (const path of this.paths) {
      lookupSteps(resolve(path), (dir, name) => {
        const wd = this.watch(dir);
        if (wd < 0) return false;
        let names = next.get(wd);
        if (!names) next.set(wd, (names = new Set()));
        names.add(name);
        return true;
      });
    }
    for (const wd of this.names.keys()) if (!next.has(wd)) inotifyRmWatch(this.fd, wd);
    this.names = next;
  }

  /** The directory's watch descriptor (the same for every path to one directory), or -1. */
  private watch(dir: string): number {
    try {
      return inotifyAddWatch(this.fd, dir, MASK);
    } catch (e) {
      // gone or replaced since it was looked up: the event that did it re-plans
      if (isErrno(e, "ENOENT", "ENOTDIR")) return -1;
      const message = `runtime binaries in ${dir} are not watched for replacement: ${e instanceof Error ? e.message : e}`;
      if (!this.said.has(message)) (this.said.add(message), this.onError(message));
      return -1;
    }
  }
}

/**
 * The (directory, name) lookups that resolve the absolute `path`, symlinks followed, up to the first
 * name that does not exist or is not a directory on the way: what can change what `path` names.
 * `before` sees each lookup before it is made; false stops the walk there.
 */
export function lookupSteps(path: string, before: (dir: string, name: string) => boolean = () => true): [string, string][] {
  const steps: [string, string][] = [];
  const todo = components(path);
  let dir = "/";
  while (todo.length && steps.length < MAX_STEPS) {
    const name = todo.shift()!;
    if (name === ".") continue;
    if (name === "..") {
      dir = dirname(dir);
      continue;
    }
    if (!before(dir, name)) break;
    steps.push([dir, name]);
    const full = join(dir, name);
    const st = tryLstat(full);
    if (!st) break;
    if (st.isSymbolicLink()) {
      let target: string;
      try {
        target = readlink(full);
      } catch {
        break;
      }
      todo.unshift(...components(target));
      if (target.startsWith("/")) dir = "/";
      continue;
    }
    if (!st.isDirectory()) break;
    dir = full;
  }
  return steps;
}

function components(path: string): string[] {
  return path.split("/").filter((c) => c !== "");
}
