// The fanotify side of the notifier: one FAN_CLASS_CONTENT group with FAN_OPEN_EXEC_PERM marks on the
// runtime binaries, answered by a worker thread (permission-worker.ts) and guarded by a watchdog on
// this thread. Should this process die, the kernel closes the group and allows whatever was pending.
//
// A mark is on an inode, and an exec sees it only if the path lookup comes back to that inode. Where
// the binary's dentry may be reclaimed and the next lookup makes a new inode for the same file, the
// mark would be silently lost: overlayfs does exactly that for a lower-layer file with more than one
// hard link (each lookup of such a file gets an inode of its own, since a copy-up would break the
// link), seen in the VM lanes once perf's build-id cache had hard-linked /usr/sbin/runc into
// ~/.debug. So each binary is opened, marked through that fd (the very inode the fd holds) and kept
// open while the group lives: its dentry cannot be reclaimed, and every lookup finds the marked inode.
//
// A mark stays on its inode, so a binary replaced at its path (a package upgrade renames the new file
// over it) or installed there after the start would go unseen: the listed paths' directories are
// watched (runtime-dirs.ts), checked on the watchdog's timer (no wakeup of their own), and the pins
// follow what the paths name (pins.ts).
import { fanotifyInit, fanotifyRespond, FAN, close, clockNs, CLOCK } from "../sys/index.ts";
import { WatchdogSlots, type ExecMessage, type WorkerMessage } from "./permission-protocol.ts";
import { existingRuntimes, type RuntimeBinary } from "./paths.ts";
import { RuntimePins, type PinChange } from "./pins.ts";
import { RuntimeDirWatch } from "./runtime-dirs.ts";

export interface PermissionWatcherOptions {
  runtimes: RuntimeBinary[];
  /** the listed paths whose files are watched as they change (default: the runtimes' paths) */
  candidates?: readonly string[];
  /** a listed path names another file now, or none: the marks have followed */
  onRewatch?: (change: PinChange) => void;
  /** fd of the execargs records map; -1 to run without argv capture (everything falls back to /proc) */
  recordsFd: number;
  /** where the worker traces root's foreground `run` runtimes before allowing them */
  store?: { name: string; bpffs: string };
  /** an event held longer than this is allowed by the watchdog */
  holdBoundMs: number;
  onExec: (m: ExecMessage) => void;
  /** hold times of execs that need no handling (see HoldsMessage) */
  onHolds?: (holdUs: number[]) => void;
  onWatchdogAllow: (n: number) => void;
  onError: (message: string) => void;
  /** the worker died: the group is closed already (nothing stays held), the watcher is useless */
  onFatal: (message: string) => void;
}

export class PermissionWatcher {
  private readonly slots = new WatchdogSlots();
  private worker?: Worker;
  private watchdog?: ReturnType<typeof setInterval>;
  private stopped?: Promise<void>;
  readonly fanFd: number;
  private groupOpen = true;
  /** one open fd per marked binary, keeping its dentry (and so the marked inode) in place; see the top */
  private readonly pins: RuntimePins;
  private readonly candidates: readonly string[];
  private dirs?: RuntimeDirWatch;

  constructor(private readonly opts: PermissionWatcherOptions) {
    this.fanFd = fanotifyInit(FAN.CLASS_CONTENT | FAN.CLOEXEC | FAN.NONBLOCK | FAN.REPORT_TID | FAN.UNLIMITED_QUEUE | FAN.UNLIMITED_MARKS);
    this.pins = new RuntimePins(this.fanFd);
    this.candidates = opts.candidates ?? opts.runtimes.map((r) => r.path);
    try {
      this.pins.update(opts.runtimes, (_, e) => {
        throw e;
      });
    } catch (e) {
      this.closeGroup();
      throw e;
    }
    try {
      this.dirs = new RuntimeDirWatch(this.candidates, opts.onError);
    } catch (e) {
      opts.onError(`runtime binaries replaced from now on are not seen: ${e instanceof Error ? e.message : e}`);
    }
    // what changed between the caller's look and the watch is seen now
    this.rewatch();
  }

  /** the real paths of the binaries marked now */
  get marked(): string[] {
    return this.pins.marked;
  }

  /** Re-resolves the listed paths and moves the marks to what they name; never throws. */
  private rewatch(): void {
    const changes = this.pins.update(existingRuntimes(this.candidates), (realPath, e) =>
      this.opts.onError(`cannot watch ${realPath}: ${e instanceof Error ? e.message : e}`),
    );
    for (const c of changes) this.opts.onRewatch?.(c);
  }

  start(): void {
    // Compiled, the worker is an extra entry point of the executable (package.json's build script,
    // whose --root . makes its embedded path lib/notifier/...); its source file need not exist.
    const compiled = Bun.main.startsWith("/$bunfs/");
    const worker = new Worker(compiled ? "./lib/notifier/permission-worker.ts" : new URL("./permission-worker.ts", import.meta.url).href);
    this.worker = worker;
    this.stopped = new Promise((resolve) => {
      worker.onmessage = (e: MessageEvent<WorkerMessage>) => {
        const m = e.data;
        if (m.kind === "exec") this.opts.onExec(m);
        else if (m.kind === "holds") this.opts.onHolds?.(m.holdUs);
        else if (m.kind === "error") this.opts.onError(m.message);
        else resolve();
      };
      worker.addEventListener("close", () => resolve());
      worker.onerror = (e) => {
        // Nobody reads the group any more: close it so the kernel allows what is pending and the
        // runtimes never wait on a dead reader.
        this.closeGroup();
        this.opts.onFatal(`permission worker failed: ${e.message}`);
        resolve();
      };
    });
    worker.postMessage({ fanFd: this.fanFd, recordsFd: this.opts.recordsFd, shared: this.slots.shared, store: this.opts.store });
    const boundUs = this.opts.holdBoundMs * 1000;
    this.watchdog = setInterval(() => {
      const nowUs = Number(clockNs(CLOCK.MONOTONIC)) / 1000;
      const n = this.slots.expire(nowUs - boundUs, (fd) => fanotifyRespond(this.fanFd, fd, FAN.ALLOW));
      if (n) this.opts.onWatchdogAllow(n);
      try {
        if (this.dirs?.check()) this.rewatch();
      } catch (e) {
        // the watchdog must go on whatever a user does in a runtime's directory
        this.opts.onError(`watching the runtime binaries' directories: ${e instanceof Error ? e.message : e}`);
      }
    }, Math.max(1, Math.min(this.opts.holdBoundMs / 2, 20)));
  }

  /** Stops the worker, then closes the group (the kernel allows anything still pending). */
  async close(): Promise<void> {
    clearInterval(this.watchdog);
    this.slots.stop();
    if (this.worker && this.stopped) {
      await Promise.race([this.stopped, Bun.sleep(1000)]);
      this.worker.terminate();
    }
    this.closeGroup();
  }

  private closeGroup(): void {
    clearInterval(this.watchdog);
    if (this.groupOpen) close(this.fanFd);
    this.groupOpen = false;
    this.pins.closeAll();
    this.dirs?.close();
    this.dirs = undefined;
  }
}
