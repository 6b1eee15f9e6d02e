// fanotify permission events and the execargs program on the real kernel. The marks are on private
// copies of busybox, so other tests' execs never reach these watchers.
import { expect, afterAll } from "bun:test";
import { mkdtempSync, mkdirSync, copyFileSync, chmodSync, rmSync, realpathSync, linkSync, writeFileSync, renameSync, unlinkSync, symlinkSync, readdirSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { describeNeeds, needs } from "../support/prereq.ts";
import { scaled } from "../support/time.ts";
import { PermissionWatcher } from "../../lib/notifier/permission.ts";
import { ExecArgsCapture } from "../../lib/notifier/execargs.ts";
import { decodeExecRecord } from "../../bpf/execargs.ts";
import type { ExecMessage } from "../../lib/notifier/permission-protocol.ts";
import type { PinChange } from "../../lib/notifier/pins.ts";
import { existingRuntimes } from "../../lib/notifier/paths.ts";
import { fanotifyInit, fanotifyMark, FanotifyPermissionQueue, FAN, close } from "../../lib/sys/index.ts";
import { enableRunStats } from "../../lib/bpf/index.ts";
import { startTime } from "../../lib/notifier/trust.ts";

let counter = 0;
const tmp = mkdtempSync(join(tmpdir(), `notifier-kernel-${process.pid}-`));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A private busybox (its own inode, so only this test's execs are marked). */
function privateBinary(): string {
  const dir = join(tmp, `bin${++counter}`);
  mkdirSync(dir);
  const p = join(dir, "busybox");
  copyFileSync("/bin/busybox", p);
  chmodSync(p, 0o755);
  return realpathSync(p);
}

interface Watching {
  seen: ExecMessage[];
  /** the marks moving as the watched paths name other files */
  changes: PinChange[];
  /** onError's messages, kept when asked; thrown otherwise */
  errors: string[];
  watcher: PermissionWatcher;
  close: () => Promise<void>;
}

/**
 * A started permission watcher on `bin` (argv records from `recordsFd`; -1: none), following the
 * files at `paths` (default: `bin`): its exec messages in `seen`.
 */
function watching(bin: string, recordsFd = -1, o: { paths?: string[]; keepErrors?: boolean } = {}): Watching {
  const seen: ExecMessage[] = [], changes: PinChange[] = [], errors: string[] = [];
  const paths = o.paths ?? [bin];
  const w = new PermissionWatcher({
    runtimes: existingRuntimes(paths), candidates: paths, recordsFd, holdBoundMs: 1000,
    onExec: (m) => seen.push(m), onRewatch: (c) => changes.push(c), onWatchdogAllow: () => {},
    onError: (m) => { if (o.keepErrors) errors.push(m); else throw new Error(m); }, onFatal: (m) => { throw new Error(m); },
  });
  w.start();
  return { seen, changes, errors, watcher: w, close: () => w.close() };
}

/** This process's fds open on `path` (a deleted file's link reads "PATH (deleted)"). */
function fdsOn(path: string): number {
  let n = 0;
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === path) n++;
    } catch {} // the fd readdir used itself
  }
  return n;
}

/** `path` replaced as dpkg does: the new file written beside it, then renamed over it. */
function replaceByRename(path: string, from = "/bin/busybox"): void {
  copyFileSync(from, `${path}.dpkg-new`);
  chmodSync(`${path}.dpkg-new`, 0o755);
  renameSync(`${path}.dpkg-new`, path);
}

/** Execs `bin` and waits for the watcher to report it. */
async function execSeen(bin: string, seen: ExecMessage[], what: string): Promise<void> {
  const before = seen.length;
  expect(await Bun.spawn([bin, "true"]).exited).toBe(0);
  await until(() => (seen.length > before ? true : undefined), what);
  expect(seen.at(-1)!.binary).toBe(bin);
}

/** A private busybox watched by a permission watcher with argv capture: its exec messages in `seen`. */
function watchedWithArgv(): { bin: string; seen: ExecMessage[]; close: () => Promise<void> } {
  const bin = privateBinary();
  const capture = ExecArgsCapture.start(["busybox"]);
  const w = watching(bin, capture.records.fd);
  return { bin, seen: w.seen, close: async () => { await w.close(); capture.close(); } };
}

async function until<T>(get: () => T | undefined, what: string, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = get();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(5);
  }
}

describeNeeds(["root", "fanotify", "busybox"], "permission watcher", () => {
  needs("root")("every exec of a marked binary is allowed and reported with its thread id", async () => {
    const bin = privateBinary();
    const { seen, ...w } = watching(bin);
    try {
      for (let i = 0; i < 5; i++) {
        const p = Bun.spawn([bin, "true"]);
        expect(await p.exited).toBe(0);
      }
      await until(() => (seen.length >= 5 ? true : undefined), "5 exec messages");
      expect(seen.length).toBe(5);
      for (const m of seen) {
        expect(m.record).toBeUndefined(); // no BPF program in this test
        expect(m.binary).toBe(bin);
        expect(m.tid).toBeGreaterThan(0);
        expect(m.answeredByWatchdog).toBe(false);
      }
    } finally {
      await w.close();
    }
  });

  needs("root")("the permission queue reads a held exec's event and its answer releases the exec", async () => {
    const bin = privateBinary();
    const fan = fanotifyInit(FAN.CLASS_CONTENT | FAN.CLOEXEC | FAN.NONBLOCK | FAN.REPORT_TID);
    try {
      fanotifyMark(fan, FAN.MARK_ADD, FAN.OPEN_EXEC_PERM, bin);
      const q = new FanotifyPermissionQueue(fan, 4);
      expect(q.next(0)).toBe(0); // nothing queued
      const p = Bun.spawn(["/bin/sh", "-c", `exec ${bin} true`]);
      let n = 0;
      for (let i = 0; i < 50 && n === 0; i++) n = q.next(100);
      expect(n).toBe(1);
      expect(q.pids[0]).toBe(p.pid); // sh exec'd in place: the same thread
      expect(q.fds[0]).toBeGreaterThanOrEqual(0);
      await Bun.sleep(50);
      expect(p.exitCode).toBeNull(); // held until answered
      expect(q.respond(q.fds[0]!)).toBe(true);
      close(q.fds[0]!);
      expect(await p.exited).toBe(0);
      expect(q.respond(q.fds[0]!)).toBe(false); // an fd already answered is refused, not thrown
    } finally {
      close(fan);
    }
  });

  needs("root")("closing the group releases an exec that was never answered", async () => {
    // A group with no worker: nobody answers, so the exec waits until the group is closed.
    const bin = privateBinary();
    const w = new PermissionWatcher({
      runtimes: [{ path: bin, realPath: bin }], recordsFd: -1, holdBoundMs: 1000,
      onExec: () => {}, onWatchdogAllow: () => {}, onError: () => {}, onFatal: () => {},
    });
    // through sh: Bun.spawn itself returns only once the child has exec'd
    const p = Bun.spawn(["/bin/sh", "-c", `exec ${bin} true`]);
    await Bun.sleep(100);
    expect(p.exitCode).toBeNull(); // held
    await w.close();
    expect(await p.exited).toBe(0);
  });

  needs("root")("a binary whose overlay inode is made anew at each lookup (a lower file with two hard links) stays marked after its dentry is reclaimed", async () => {
    // The VM lanes' root is such an overlay, and perf's build-id cache hard-links the binaries it
    // profiles (/usr/sbin/runc): there the notifier once saw no runc exec at all.
    const dir = join(tmp, `ovl${++counter}`);
    for (const d of ["lower", "upper", "work", "merged"]) mkdirSync(join(dir, d), { recursive: true });
    copyFileSync("/bin/busybox", join(dir, "lower/busybox"));
    chmodSync(join(dir, "lower/busybox"), 0o755);
    linkSync(join(dir, "lower/busybox"), join(dir, "lower/busybox-link"));
    const mount = Bun.spawnSync(["mount", "-t", "overlay", "-o", `lowerdir=${dir}/lower,upperdir=${dir}/upper,workdir=${dir}/work`, "overlay", join(dir, "merged")]);
    expect(mount.stderr.toString()).toBe("");
    const bin = join(dir, "merged/busybox");
    /** Reclaims every unused dentry and inode (drop_caches 2, page cache untouched): the only way to reclaim one on demand. */
    const reclaimDentries = () => writeFileSync("/proc/sys/vm/drop_caches", "2");
    const fan = fanotifyInit(FAN.CLASS_CONTENT | FAN.CLOEXEC | FAN.NONBLOCK | FAN.REPORT_TID);
    try {
      // the premise: marked by path alone, the mark stays on an inode the next lookup does not find
      fanotifyMark(fan, FAN.MARK_ADD, FAN.OPEN_EXEC_PERM, bin);
      reclaimDentries();
      const q = new FanotifyPermissionQueue(fan, 4);
      const p = Bun.spawn(["/bin/sh", "-c", `exec ${bin} true`]);
      let n = 0;
      for (let i = 0; i < 10 && n === 0 && p.exitCode === null; i++) n = q.next(100);
      for (let i = 0; i < n; i++) (q.respond(q.fds[i]!), close(q.fds[i]!));
      expect(await p.exited).toBe(0);
      expect(n).toBe(0);

      // the watcher's mark holds: every exec after each reclaim is seen
      const { seen, ...w } = watching(bin);
      try {
        for (let i = 1; i <= 3; i++) {
          reclaimDentries();
          expect(await Bun.spawn([bin, "true"]).exited).toBe(0);
          await until(() => (seen.length >= i ? true : undefined), `exec ${i} after the reclaim`);
        }
        expect(seen.length).toBe(3);
      } finally {
        await w.close();
      }
    } finally {
      close(fan);
      Bun.spawnSync(["umount", join(dir, "merged")]);
    }
  }, scaled(30_000));
});

describeNeeds(["root", "fanotify", "busybox"], "permission watcher following the files at its paths", () => {
  needs("root")("a binary renamed over (a package upgrade): the new file is marked, the old one's pin is closed", async () => {
    const bin = privateBinary();
    const { seen, changes, watcher, close } = watching(bin);
    try {
      await execSeen(bin, seen, "the exec before the upgrade");
      replaceByRename(bin);
      await until(() => (changes.length ? true : undefined), "the new file marked");
      expect(changes).toEqual([{ realPath: bin, change: "replaced" }]);
      expect(watcher.marked).toEqual([bin]);
      // the replaced file is no longer held open (its space is freed), the new one is
      await until(() => (fdsOn(`${bin} (deleted)`) === 0 && fdsOn(bin) === 1 ? true : undefined), "one pin, on the new file");
      await execSeen(bin, seen, "the exec after the upgrade");
      replaceByRename(bin);
      await until(() => (changes.length === 2 ? true : undefined), "the second upgrade");
      await execSeen(bin, seen, "the exec after the second upgrade");
      expect(fdsOn(`${bin} (deleted)`)).toBe(0);
    } finally {
      await close();
    }
  });

  needs("root")("a binary installed after the start, in a directory made after it, is marked", async () => {
    const dir = realpathSync(mkdtempSync(join(tmp, "later-")));
    const bin = join(dir, "libexec/podman/busybox");
    const { seen, changes, watcher, close } = watching(bin);
    try {
      expect(watcher.marked).toEqual([]);
      mkdirSync(join(dir, "libexec/podman"), { recursive: true });
      copyFileSync("/bin/busybox", bin);
      chmodSync(bin, 0o755);
      await until(() => (watcher.marked.length ? true : undefined), "the installed file marked");
      expect(changes).toEqual([{ realPath: bin, change: "appeared" }]);
      await execSeen(bin, seen, "the exec of the installed binary");
    } finally {
      await close();
    }
  });

  needs("root")("through a symlink: a re-pointed link moves the mark to its new target", async () => {
    const dir = realpathSync(mkdtempSync(join(tmp, "link-")));
    for (const v of ["v1", "v2"]) {
      mkdirSync(join(dir, v));
      copyFileSync("/bin/busybox", join(dir, v, "busybox"));
      chmodSync(join(dir, v, "busybox"), 0o755);
    }
    symlinkSync("v1", join(dir, "current"));
    const bin = join(dir, "current/busybox");
    const { seen, changes, watcher, close } = watching(bin);
    try {
      expect(watcher.marked).toEqual([join(dir, "v1/busybox")]);
      symlinkSync("v2", join(dir, "next"));
      renameSync(join(dir, "next"), join(dir, "current")); // as k3s switches data/current
      await until(() => (changes.length === 2 ? true : undefined), "the mark moved");
      expect(watcher.marked).toEqual([join(dir, "v2/busybox")]);
      expect(changes).toEqual([{ realPath: join(dir, "v1/busybox"), change: "removed" }, { realPath: join(dir, "v2/busybox"), change: "appeared" }]);
      const before = seen.length;
      expect(await Bun.spawn([bin, "true"]).exited).toBe(0);
      await until(() => (seen.length > before ? true : undefined), "the exec through the re-pointed link");
    } finally {
      await close();
    }
  });

  needs("root")("a removed binary is unpinned; a FIFO, a symlink loop and a flood of files at its place neither hang nor break the watcher", async () => {
    const bin = privateBinary();
    const { seen, changes, errors, watcher, close } = watching(bin, -1, { keepErrors: true });
    try {
      unlinkSync(bin);
      await until(() => (watcher.marked.length === 0 ? true : undefined), "the removed file unmarked");
      expect(changes).toEqual([{ realPath: bin, change: "removed" }]);
      await until(() => (fdsOn(`${bin} (deleted)`) === 0 ? true : undefined), "the removed file's pin closed");

      // a FIFO nobody writes: opening it without O_NONBLOCK would block the event loop for good
      expect(Bun.spawnSync(["mkfifo", bin]).exitCode).toBe(0);
      await Bun.sleep(200);
      expect(watcher.marked).toEqual([]);
      unlinkSync(bin);
      symlinkSync("busybox", bin); // a loop of one
      await Bun.sleep(200);
      expect(watcher.marked).toEqual([]);
      const dir = join(bin, "..");
      for (let i = 0; i < 5000; i++) writeFileSync(join(dir, `f${i}`), "");
      await Bun.sleep(200);
      expect(changes.length).toBe(1);

      replaceByRename(bin); // over the symlink
      await until(() => (watcher.marked.length ? true : undefined), "the binary back in place");
      expect(changes.at(-1)).toEqual({ realPath: bin, change: "appeared" });
      await execSeen(bin, seen, "the exec after all that");
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  }, scaled(30_000));
});

describeNeeds(["root", "tracefs", "fanotify", "busybox"], "execs that cannot create a container", () => {
  needs("root")("wake only the worker: their hold times arrive in a batch, no exec message", async () => {
    const bin = privateBinary();
    const capture = ExecArgsCapture.start(["busybox"]);
    const seen: ExecMessage[] = [];
    const holds: number[] = [];
    const w = new PermissionWatcher({
      runtimes: [{ path: bin, realPath: bin }], recordsFd: capture.records.fd, holdBoundMs: 1000,
      onExec: (m) => seen.push(m), onHolds: (h) => holds.push(...h), onWatchdogAllow: () => {}, onError: (m) => { throw new Error(m); }, onFatal: (m) => { throw new Error(m); },
    });
    w.start();
    try {
      for (let i = 0; i < 5; i++) expect(await Bun.spawn([bin, "true", "--version"]).exited).toBe(0);
      await until(() => (holds.length >= 5 ? true : undefined), "5 hold times");
      expect(seen).toEqual([]);
      expect(holds.every((h) => Number.isFinite(h) && h >= 0)).toBe(true);
    } finally {
      await w.close();
      capture.close();
    }
  });
});

describeNeeds(["root", "tracefs", "busybox"], "execargs program", () => {
  needs("root")("records filename and argv of an exec, keyed by its thread id", async () => {
    const bin = privateBinary();
    const capture = ExecArgsCapture.start(["busybox"]);
    try {
      const args = ["--root", "/run/x", "create", "--bundle", "/b", "--pid-file", "/b/p", `id-${process.pid}`, "x".repeat(300)];
      const p = Bun.spawn([bin, "true", ...args]);
      await p.exited;
      const rec = await until(() => {
        for (const [, v] of capture.records.entries()) {
          const r = decodeExecRecord(v);
          if (r.filename === bin) return r;
        }
        return undefined;
      }, "the record of our exec");
      expect(rec.argv.slice(0, 10)).toEqual([bin, "true", ...args.slice(0, 8)]);
      expect(rec.argv[10]).toBe("x".repeat(255)); // an argument is cut at 256 bytes with its NUL
      expect(rec.tid).toBe(rec.tgid); // a single-threaded child
      expect(rec.truncated).toBe(false);

      const many = Array.from({ length: 30 }, (_, i) => `a${i}`);
      await Bun.spawn([bin, "true", ...many]).exited;
      const big = await until(() => {
        for (const [, v] of capture.records.entries()) {
          const r = decodeExecRecord(v);
          if (r.filename === bin && r.argv.length === 20) return r;
        }
        return undefined;
      }, "the record of a 32-argument exec");
      expect(big.argv).toEqual([bin, "true", ...many.slice(0, 18)]);
      expect(big.truncated).toBe(true);
    } finally {
      capture.close();
    }
  });

  needs("root")("an execveat of an fd (AT_EMPTY_PATH, the shim's exec of the lower runtime) is recorded too", async () => {
    const bin = privateBinary();
    const capture = ExecArgsCapture.start(["busybox"]);
    try {
      const marker = `fexec-${process.pid}-${counter}`;
      const script = `
        import { openSync } from "node:fs";
        import { execveatFd, O } from ${JSON.stringify(join(import.meta.dir, "../../lib/sys/index.ts"))};
        execveatFd(openSync(${JSON.stringify(bin)}, O.PATH | O.CLOEXEC), ["busybox", "true", ${JSON.stringify(marker)}], {}, "busybox");`;
      expect(Bun.spawnSync([process.execPath, "-e", script]).exitCode).toBe(0);
      const rec = await until(() => {
        for (const [, v] of capture.records.entries()) {
          const r = decodeExecRecord(v);
          if (r.argv.includes(marker)) return r;
        }
        return undefined;
      }, "the record of the execveat");
      expect(rec.filename).toBe("");
      expect(rec.argv).toEqual(["busybox", "true", marker]);
    } finally {
      capture.close();
    }
  });

  needs("root")("an unwatched exec runs the program, takes no record, and its run time is counted while stats are on", async () => {
    const capture = ExecArgsCapture.start([`nothing-${process.pid}`]);
    try {
      const before = capture.runStats();
      const stats = enableRunStats();
      try {
        for (let i = 0; i < 5; i++) expect(await Bun.spawn(["/bin/true"]).exited).toBe(0);
      } finally {
        close(stats);
      }
      const after = capture.runStats();
      expect(after.runCount - before.runCount).toBeGreaterThanOrEqual(5n); // other execs of the host count too
      expect(after.runTimeNs).toBeGreaterThan(before.runTimeNs);
      expect([...capture.records.entries()]).toEqual([]);
    } finally {
      capture.close();
    }
  });

  needs("root")("only execs of a watched name take a record", async () => {
    const bin = privateBinary();
    const other = join(tmp, `bin${++counter}`, `busybox-${process.pid}`); // "busybox" is only its tail
    mkdirSync(join(other, ".."));
    copyFileSync(bin, other);
    chmodSync(other, 0o755);
    const capture = ExecArgsCapture.start(["busybox"]);
    try {
      const marker = `marker-${process.pid}-${counter}`;
      await Bun.spawn([other, "true", marker]).exited;
      await Bun.spawn(["/bin/sh", "-c", `true ${marker}`]).exited;
      await Bun.spawn([bin, "true", marker]).exited;
      const ours = await until(() => {
        const recs = [...capture.records.entries()].map(([, v]) => decodeExecRecord(v)).filter((r) => r.argv.includes(marker));
        return recs.some((r) => r.filename === bin) ? recs : undefined;
      }, "the record of the watched exec");
      expect(ours.map((r) => r.filename)).toEqual([bin]);
    } finally {
      capture.close();
    }
  });

  needs("root")("with the watcher, the exec's argv arrives with the permission event", async () => {
    const { bin, seen, close } = watchedWithArgv();
    try {
      const p = Bun.spawn([bin, "true", "create", "--bundle", "/x", `c-${process.pid}`]);
      expect(await p.exited).toBe(0);
      const m = await until(() => seen[0], "the exec message");
      expect(m.record?.argv).toEqual([bin, "true", "create", "--bundle", "/x", `c-${process.pid}`]);
      expect(m.record?.tid).toBe(m.tid);
      expect(m.record?.tid).toBe(p.pid);
      expect(m.record?.uid).toBe(process.getuid!());
      // the hold is timed from sys_enter_execve, so it covers the wait before the event was read
      expect(m.holdFromExecve).toBe(true);
      expect(m.holdUs).toBeGreaterThanOrEqual(m.answerUs);
    } finally {
      await close();
    }
  });

  needs("root")("the worker reads the runtime's start time right after the answer, for the main thread's claim", async () => {
    const { bin, seen, close } = watchedWithArgv();
    try {
      const p = Bun.spawn([bin, "sh", "-c", "sleep 0.5", "create"]); // $0 "create": it may create a container
      const m = await until(() => seen[0], "the exec message");
      expect(m.startTime).toBeGreaterThan(0);
      expect(m.startTime).toBe(startTime(p.pid)!); // read while it still runs
      expect(await p.exited).toBe(0);
    } finally {
      await close();
    }
  });
});
