// The container notifier (after inspektor-gadget's pkg/runcfanotify): learns of each runtime exec
// from fanotify, its argv from the execargs BPF program, then follows the container it creates:
//
//   runtime exec (conmon)        -> remember the name podman gave the container id
//   runtime exec (runc create|run) -> `precreate` {id, bundle, runtime}
//   pid file written             -> trace the pid in the exit store, `add` {pid, name}
//   pid exits                    -> `remove` with the exit code or signal the kernel recorded
//
// Unlike runcfanotify it does not read /proc once a second: termination comes from a pidfd and the
// store's exit tracking. Failures about one container (unreadable bundle, garbage pid file) become
// `error` events; the notifier carries on.
import { existsSync, readFileSync, readlinkSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { pidfdOpen, close, isErrno } from "../sys/index.ts";
import {
  makeEvent, exitedEventFromWaitStatus, newContainerRecord, processIds, type Store, type LifecycleEvent, type ContainerRecord,
} from "../store/index.ts";
import { parseRuncArgv, parseConmonArgv } from "../oci/runtime-argv.ts";
import { cgroupMount, pidGroupPath } from "../cgroup/index.ts";
import { NotifierMetrics } from "./metrics.ts";
import { Poller } from "./poller.ts";
import { ReportedContainers, type PidSource } from "./reported.ts";
import { runtimeKind } from "./paths.ts";
import {
  ContainerInfoError, nameFromBundle, readPidFile, readRuncStatePid, procCmdline,
} from "./container-info.ts";
import type { ExecMessage } from "./permission-protocol.ts";

export interface NotifierSink {
  event(ev: LifecycleEvent): void;
  error(ev: LifecycleEvent, message: string): void;
}

export interface NotifierCoreOptions {
  store: Store;
  sink: NotifierSink;
  metrics?: NotifierMetrics;
  /** how long a created container may take to write its pid file */
  pidWaitMs?: number;
}

/** What conmon told us about a container before its runtime runs. */
interface ConmonInfo {
  name: string;
  bundle: string;
  pidFile: string;
  runtime: string;
}

interface Watched {
  id: string;
  name: string;
  pid: number;
  bundle: string;
  runtime: string;
  cgroup: string;
  traceId: bigint;
  /** we started the trace, so we free its exit status */
  ownTrace: boolean;
  /**
   * exit-tracking id of a foreground `run` runtime, which exits with its container's status: the
   * fallback when the container ended before its pid was known (runc writes the pid file after
   * starting it, so a short-lived container can beat the trace)
   */
  runtimeTraceId?: bigint;
  runtimePid?: number;
}

/** Where a runtime keeps a container's state, <root>/<id>/<file>, and its default root. */
const STATE_LAYOUTS: Record<string, { root: string; file: string }> = {
  runc: { root: "/run/runc", file: "state.json" },
  crun: { root: "/run/crun", file: "status" },
};

export class NotifierCore {
  readonly metrics: NotifierMetrics;
  private readonly poller = new Poller();
  private readonly conmon = new Map<string, ConmonInfo>();
  private readonly pending = new Map<string, () => void>();
  /** the runtime thread whose create of an id is being waited for */
  private readonly creators = new Map<string, number>();
  private readonly watched = new Map<string, Watched>();
  private readonly reported: ReportedContainers;
  private readonly pidWaitMs: number;

  constructor(private readonly opts: NotifierCoreOptions) {
    this.metrics = opts.metrics ?? new NotifierMetrics();
    this.pidWaitMs = opts.pidWaitMs ?? 30_000;
    this.reported = ReportedContainers.open(opts.store.dir);
  }

  /** Containers being followed (pid known, not yet removed). */
  get following(): string[] {
    return [...this.watched.keys()];
  }

  // ---- runtime execs ----

  /** Handles one answered permission event from the worker. */
  onExec(m: ExecMessage): void {
    // (watchdog answers are counted where the watchdog runs)
    this.metrics.observeHold(m.holdUs / 1e6);
    if (m.record) {
      this.handleArgv(m.tid, m.record.argv.length ? m.record.argv : [m.record.filename], m.record.filename);
      return;
    }
    this.metrics.argvFallbacks++;
    void this.argvFromProc(m.tid, m.binary, m.cmdlineBefore).then(
      (argv) => this.handleArgv(m.tid, argv, m.binary),
      (e) => {
        this.metrics.argvMissing++;
        this.fail("argv", { id: "" }, `runtime exec by thread ${m.tid} (${m.binary || "unknown binary"}): no argv: ${String(e)}`);
      },
    );
  }

  /**
   * After the exec was allowed: /proc/TID/cmdline, once /proc/TID/exe is the runtime binary and the
   * cmdline is no longer the one from before the exec.
   */
  private async argvFromProc(tid: number, binary: string, cmdlineBefore: string | undefined): Promise<string[]> {
    for (let i = 0; i < 100; i++) {
      let exe: string, raw: string;
      try {
        exe = readlinkSync(`/proc/${tid}/exe`);
        raw = readFileSync(`/proc/${tid}/cmdline`, "latin1");
      } catch {
        throw new Error("process gone");
      }
      if ((!binary || exe === binary) && raw !== cmdlineBefore) return procCmdline(tid);
      await Bun.sleep(1);
    }
    throw new Error(`still not running ${binary} with a new argv`);
  }

  handleArgv(tid: number, argv: string[], filename: string): void {
    try {
      const program = basename(argv[0] || filename);
      if (runtimeKind(program) === "conmon" || runtimeKind(filename) === "conmon") {
        const c = parseConmonArgv(argv);
        if (c.cid) this.conmon.set(c.cid, { name: c.name ?? "", bundle: c.bundle ?? "", pidFile: c.containerPidfile ?? "", runtime: c.runtime ?? "" });
        return;
      }
      // relative paths in argv are the runtime's: its cwd is still the caller's while the exec is held
      const cwd = safeReadlink(`/proc/${tid}/cwd`) ?? "/";
      const r = parseRuncArgv(argv.slice(1), cwd);
      if ((r.command !== "create" && r.command !== "run") || !r.id) return;
      // through /proc/self/exe (a runtime re-executing itself) only argv[0] names the runtime
      const runtime = filename && basename(filename) !== "exe" ? basename(filename) : program;
      const layout = STATE_LAYOUTS[runtime];
      const stateRoot = r.globals.root ?? layout?.root;
      this.created({
        id: r.id, bundle: r.bundle ?? cwd, runtime, pidFile: r.pidFile,
        stateFile: stateRoot ? join(stateRoot, r.id, (layout ?? STATE_LAYOUTS.runc!).file) : undefined, runtimePid: tid,
        runtimeTraceId: r.command === "run" && r.flags.detach !== true ? this.traceRuntime(tid) : undefined,
      });
    } catch (e) {
      this.fail("argv", { id: "" }, `runtime argv ${JSON.stringify(argv.slice(0, 6))}: ${errText(e)}`);
    }
  }

  /** Traces a runtime process; undefined when it is gone already or the store refuses. */
  private traceRuntime(pid: number): bigint | undefined {
    try {
      return this.opts.store.trace(pid).traceId;
    } catch {
      return undefined;
    }
  }

  private created(c: {
    id: string; bundle: string; runtime: string; pidFile?: string; stateFile?: string; runtimePid: number; runtimeTraceId?: bigint;
  }): void {
    // crun 1.8 re-executes itself from a sealed copy, same thread and argv: one container, one precreate
    if (this.creators.get(c.id) === c.runtimePid) return;
    this.creators.set(c.id, c.runtimePid);
    const fromConmon = this.conmon.get(c.id);
    this.conmon.delete(c.id);
    this.pending.get(c.id)?.(); // a create of an id we were still waiting for supersedes it
    let name = fromConmon?.name || "";
    if (!name) {
      try {
        name = nameFromBundle(c.bundle) ?? "";
      } catch (e) {
        this.fail("bundle", { id: c.id, bundle: c.bundle, runtime: c.runtime }, errText(e));
      }
    }
    name ||= c.id;
    this.emit(makeEvent({ type: "precreate", id: c.id, name, bundle: c.bundle, runtime: c.runtime, source: "notifier" }));
    const path = c.pidFile ?? c.stateFile;
    if (!path) {
      this.fail("pidfile", { id: c.id, bundle: c.bundle, runtime: c.runtime }, `container ${c.id}: no --pid-file and no state root to find its pid`);
      return;
    }
    const source: PidSource = c.pidFile ? "pidfile" : "runc-state";
    this.reported.set(c.id, { state: source, path });
    this.recordCreated({ id: c.id, name, bundle: c.bundle, runtime: c.runtime });
    this.waitForPid({ ...c, name, path, source });
  }

  /**
   * Follows a container once its pid appears in `path`. `runtimePid`: the runtime process, whose exit
   * means nothing more will be written (unknown when a restarted notifier resumes the wait).
   */
  private waitForPid(c: {
    id: string; name: string; bundle: string; runtime: string; runtimePid?: number; runtimeTraceId?: bigint; path: string; source: PidSource;
  }): void {
    const read = c.source === "pidfile" ? readPidFile : readRuncStatePid;
    const base = { id: c.id, name: c.name, bundle: c.bundle, runtime: c.runtime };
    let runtimeFd = -1;
    let unwatchFile: (() => void) | undefined;
    let unwatchRuntime: (() => void) | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let done = false;
    const finish = (followed = false) => {
      if (done) return;
      done = true;
      if (!followed) this.untrace(c.runtimeTraceId, c.runtimePid);
      unwatchFile?.();
      unwatchRuntime?.();
      clearTimeout(timer);
      close(runtimeFd);
      if (this.pending.get(c.id) === finish) this.pending.delete(c.id);
      if (c.runtimePid !== undefined && this.creators.get(c.id) === c.runtimePid) this.creators.delete(c.id);
    };
    const check = (final: boolean): boolean => {
      if (done) return true;
      let pid: number | undefined;
      try {
        pid = read(c.path);
      } catch (e) {
        finish();
        this.abandon(c.id);
        this.fail("pidfile", base, errText(e));
        return true;
      }
      if (pid === undefined) {
        if (final) {
          finish();
          this.abandon(c.id);
          this.fail("runtime", base, `container ${c.id}: ${c.runtime} (pid ${c.runtimePid}) ended without writing ${c.path}`);
        }
        return final;
      }
      finish(true);
      this.follow({ ...base, pid, cgroup: cgroupOf(pid), runtimeTraceId: c.runtimeTraceId, runtimePid: c.runtimePid }, true);
      return true;
    };

    this.pending.set(c.id, finish);
    const watchPath = (): boolean => {
      try {
        unwatchFile = this.poller.watchFile(c.path, () => check(false));
        return true;
      } catch (e) {
        if (isErrno(e, "ENOENT", "ENOTDIR")) return false;
        finish();
        this.abandon(c.id);
        this.fail("pidfile", base, `pid file ${c.path}: cannot watch: ${errText(e)}`);
        return true;
      }
    };
    // The file's directory may not exist yet: runc and crun make <root>/<id>/ during create, and
    // <root> itself on their first run after boot. Watch the nearest existing ancestor for the next
    // directory down, then start over from the file.
    const watchTowards = (dir: string): void => {
      const arrived = () => {
        unwatchFile?.();
        unwatchFile = undefined;
        if (done) return;
        if (watchPath()) check(false);
        else watchTowards(dirname(c.path));
      };
      try {
        unwatchFile = this.poller.watchFile(dir, arrived);
      } catch (e) {
        if (isErrno(e, "ENOENT", "ENOTDIR") && dirname(dir) !== dir) watchTowards(dirname(dir));
        return;
      }
      if (isDirectory(dir)) arrived(); // made while the watch was being set up
    };
    if (!watchPath()) watchTowards(dirname(c.path));
    if (done) return;
    if (check(false)) return;
    if (c.runtimePid !== undefined) {
      try {
        runtimeFd = pidfdOpen(c.runtimePid);
        // `run` keeps the runtime alive as long as the container; `create` returns once the pid file is written.
        unwatchRuntime = this.poller.watchFd(runtimeFd, () => check(true));
      } catch {
        // the runtime already exited: what it wrote is all there will be
        if (check(true)) return;
      }
    }
    timer = setTimeout(() => {
      if (!check(false)) {
        finish();
        this.abandon(c.id);
        this.fail("pidfile", base, `container ${c.id}: no pid in ${c.path} after ${this.pidWaitMs} ms`);
      }
    }, this.pidWaitMs);
  }

  // ---- containers ----

  /**
   * Watches `c.pid` for its exit. `announce` writes the `add` event (skipped for survivors a previous
   * notifier already reported). Each container is followed once.
   */
  follow(c: Omit<Watched, "traceId" | "ownTrace">, announce: boolean): void {
    if (this.watched.has(c.id)) {
      this.untrace(c.runtimeTraceId, c.runtimePid);
      return;
    }
    const { store } = this.opts;
    let traceId = 0n;
    let ownTrace = false;
    try {
      const t = store.trace(c.pid);
      traceId = t.traceId;
      ownTrace = !t.existing; // a hook traced this process first: its poststop collects the status
    } catch (e) {
      const existing = store.getTracingTask(c.pid);
      if (existing) traceId = existing.traceId;
      // a container that already ended is no error: its exit comes from the runtime's trace or nowhere
      else if (!/exited before/.test(errText(e)) && alive(c.pid)) this.fail("store", c, `container ${c.id}: cannot trace pid ${c.pid}: ${errText(e)}`);
    }
    const w: Watched = { ...c, traceId, ownTrace };
    this.watched.set(c.id, w);
    if (announce) {
      this.reported.set(c.id, { state: "reported", pid: c.pid, traceId });
      this.recordContainer(w);
      this.emit(makeEvent({ type: "add", id: c.id, name: c.name, pid: c.pid, bundle: c.bundle, runtime: c.runtime, cgroup: c.cgroup, source: "notifier" }));
    }
    let pidfd = -1;
    try {
      pidfd = pidfdOpen(c.pid);
    } catch {
      void this.removed(w);
      return;
    }
    this.poller.watchFd(pidfd, () => {
      close(pidfd);
      void this.removed(w);
    });
  }

  private async removed(w: Watched): Promise<void> {
    const { store } = this.opts;
    let status = w.traceId ? store.getExitedEvent(w.traceId) : undefined;
    // The exit program writes before the pidfd wakes; allow a little for another writer's race.
    for (let i = 0; !status && w.traceId && i < 20; i++) {
      await Bun.sleep(1);
      status = store.getExitedEvent(w.traceId);
    }
    if (status && w.ownTrace) store.deleteExitedEvent(w.traceId);
    let outcome = status ? exitedEventFromWaitStatus(status.waitStatus) : { exitCode: null as number | null, signal: null as number | null, coreDumped: false };
    if (w.runtimeTraceId) {
      if (!status) {
        // runc exits with the container's code, or 128+signal (which an exit code of that value mimics)
        const runtime = await store.waitExitedEvent(w.runtimeTraceId, { timeoutMs: 5000 }).catch(() => undefined);
        if (runtime) outcome = { ...exitedEventFromWaitStatus(runtime.waitStatus), coreDumped: false };
      }
      this.untrace(w.runtimeTraceId, w.runtimePid);
    }
    this.watched.delete(w.id);
    this.reported.delete(w.id);
    try {
      store.updateContainer(w.id, (r: ContainerRecord) =>
        r.pid === w.pid ? { ...r, state: "stopped", stoppedNs: makeEvent({ type: "remove", id: w.id, source: "notifier" }).timeNs, exitCode: outcome.exitCode, signal: outcome.signal, coreDumped: outcome.coreDumped } : r,
      );
    } catch {
      // not recorded (or the store is full): the event below is what matters
    }
    this.emit(makeEvent({
      type: "remove", id: w.id, name: w.name, pid: w.pid, bundle: w.bundle, runtime: w.runtime, cgroup: w.cgroup,
      exitCode: outcome.exitCode, signal: outcome.signal, source: "notifier",
    }));
  }

  /** Forgets a runtime trace, whether or not the runtime has exited. */
  private untrace(traceId: bigint | undefined, runtimePid?: number): void {
    if (!traceId) return;
    const { store } = this.opts;
    try {
      const t = store.getExitedEvent(traceId);
      if (t) store.deleteExitedEvent(traceId);
      else if (runtimePid && store.getTracingTask(runtimePid)?.traceId === traceId) store.deleteTracingTask(runtimePid);
    } catch {
      // already gone
    }
  }

  /** A pending container that will never get its `add`. */
  private abandon(id: string): void {
    if (this.reported.get(id)?.state !== "reported") this.reported.delete(id);
  }

  /** A `created` record for a precreated container, unless one of this container's life is there. */
  private recordCreated(c: { id: string; name: string; bundle: string; runtime: string }): void {
    const { store } = this.opts;
    try {
      const cur = store.getContainer(c.id);
      if (cur && cur.state !== "stopped") return;
      store.putContainer({
        ...newContainerRecord({ id: c.id }), name: c.name, bundle: c.bundle, runtime: c.runtime, state: "created",
        createdNs: makeEvent({ type: "precreate", id: c.id, source: "notifier" }).timeNs, source: "notifier",
      });
    } catch (e) {
      this.fail("store", c, `container ${c.id}: cannot record it in store ${store.name}: ${errText(e)}`);
    }
  }

  /** Keeps the store's container record in step, without overwriting what a hook recorded. */
  private recordContainer(w: Watched): void {
    const { store } = this.opts;
    try {
      const cur = store.getContainer(w.id);
      const now = makeEvent({ type: "add", id: w.id, source: "notifier" }).timeNs;
      if (cur && cur.pid === w.pid) return;
      store.putContainer({
        ...(cur ?? newContainerRecord({ id: w.id })),
        id: w.id, name: w.name, pid: w.pid, bundle: w.bundle, runtime: w.runtime, cgroupPath: w.cgroup || cur?.cgroupPath || "", state: "running",
        ...processIds(w.pid, w.cgroup || cur?.cgroupPath || ""),
        startedNs: now, createdNs: cur?.createdNs || now, stoppedNs: 0n, exitCode: null, signal: null, coreDumped: false,
        traceId: w.traceId, source: cur?.source ?? "notifier",
      });
    } catch (e) {
      this.fail("store", w, `container ${w.id}: cannot record it in store ${store.name}: ${errText(e)}`);
    }
  }

  /**
   * The runtime state roots (<root> of <root>/<id>/state.json) of the containers a previous notifier
   * left waiting for their pid in runc's state: other containers may have started there unseen.
   */
  stateRootsSeen(): string[] {
    const roots = new Set<string>();
    for (const [, r] of this.reported.entries()) if (r.state === "runc-state") roots.add(dirname(dirname(r.path)));
    return [...roots];
  }

  /**
   * Reports the containers that run now, once: those a previous notifier reported are only followed
   * again (and removed if they ended meanwhile); those it precreated get their pid wait resumed; the
   * others get their `add`.
   */
  adoptRunning(candidates: { id: string; pid: number; name?: string; bundle?: string; runtime?: string; cgroup?: string }[]): void {
    const { store } = this.opts;
    const known = (id: string) => {
      const rec = store.getContainer(id);
      return { id, name: rec?.name || id, bundle: rec?.bundle ?? "", runtime: rec?.runtime ?? "", cgroup: rec?.cgroupPath ?? "" };
    };
    const previous = new Map(this.reported.entries());
    for (const [id, r] of previous) {
      if (this.watched.has(id) || this.pending.has(id)) continue;
      if (r.state !== "reported") {
        this.waitForPid({ ...known(id), path: r.path, source: r.state });
        continue;
      }
      if (alive(r.pid)) {
        this.follow({ ...known(id), pid: r.pid }, false);
        continue;
      }
      // reported before, not running any more: it ended while no notifier watched
      void this.removed({ ...known(id), pid: r.pid, traceId: r.traceId, ownTrace: true });
    }
    for (const c of candidates) {
      if (!c.id || !c.pid || previous.has(c.id) || this.watched.has(c.id) || this.pending.has(c.id) || !alive(c.pid)) continue;
      const w = { id: c.id, name: c.name || c.id, pid: c.pid, bundle: c.bundle ?? "", runtime: c.runtime ?? "", cgroup: c.cgroup || cgroupOf(c.pid) };
      this.follow(w, true);
    }
  }

  // ---- output ----

  private emit(ev: LifecycleEvent): void {
    this.metrics.countEvent(ev.type);
    try {
      this.opts.store.append(ev);
    } catch (e) {
      this.metrics.countError("store");
      this.opts.sink.error(makeEvent({ type: "error", id: ev.id, source: "notifier" }), `store ${this.opts.store.name}: cannot append: ${errText(e)}`);
    }
    this.opts.sink.event(ev);
  }

  private fail(kind: ContainerInfoError["kind"], c: Partial<LifecycleEvent> & { id: string }, message: string): void {
    this.metrics.countError(kind);
    const ev = makeEvent({ ...c, type: "error", source: "notifier" });
    this.metrics.countEvent("error");
    try {
      this.opts.store.append(ev);
    } catch {
      // the error line below still says it
    }
    this.opts.sink.error(ev, message);
  }

  close(): void {
    for (const finish of [...this.pending.values()]) finish();
    this.poller.close();
    this.reported.close();
  }
}

/** The pid's cgroup2 directory (absolute), "" when it cannot be read. */
function cgroupOf(pid: number): string {
  try {
    return join(cgroupMount().mountpoint, pidGroupPath(pid));
  } catch {
    return "";
  }
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function alive(pid: number): boolean {
  return existsSync(`/proc/${pid}`);
}

function safeReadlink(p: string): string | undefined {
  try {
    return readlinkSync(p);
  } catch {
    return undefined;
  }
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
