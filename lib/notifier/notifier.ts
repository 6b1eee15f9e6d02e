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
//
// Every runtime exec is a claim by its uid (trust.ts): a non-root claim writes nothing (no
// precreate, no record) until its pid is verified to be the runtime's container, claims in flight
// and followed containers are capped per uid and in all, and waits and containers are keyed by the
// runtime process and the verified pid, never by the id alone.
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
import {
  validContainerId, printable, processUid, verifyContainerPid, startTime, UidCaps, ErrorRate, type Claimant,
} from "./trust.ts";

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
  /** pidfds and waits the notifier may hold in all (keep it under RLIMIT_NOFILE, see run.ts) */
  maxWaits?: number;
  /** claims in flight (runtime execs waiting for their pid) per non-root uid */
  maxPendingPerUid?: number;
  /** followed containers per non-root uid */
  maxFollowedPerUid?: number;
}

export const DEFAULT_LIMITS = { maxWaits: 4096, maxPendingPerUid: 32, maxFollowedPerUid: 1024 } as const;
/** conmon execs remembered until their runtime runs: in all, and per non-root uid */
const CONMON_SLOTS = 1024;
const CONMON_SLOTS_PER_UID = 16;

/** What conmon told us about a container before its runtime runs. */
interface ConmonInfo {
  name: string;
  bundle: string;
  pidFile: string;
  runtime: string;
}

interface Watched {
  /** the uid whose runtime started it (0 for survivors: the store, the cgroup tree, root's state dirs) */
  uid: number;
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
  /** conmon's claims, by uid and container id: a name only ever names that uid's own container */
  private readonly conmon = new Map<string, ConmonInfo & { uid: number }>();
  /** pid waits, by runtime process and id */
  private readonly pending = new Map<string, { id: string; finish: () => void }>();
  /** followed containers, by verified pid */
  private readonly watched = new Map<number, Watched>();
  /** the runtime process whose create of an id is being waited for */
  private readonly creators = new Map<string, number>();
  private readonly reported: ReportedContainers;
  private readonly pidWaitMs: number;
  private readonly pendingCaps: UidCaps;
  private readonly followedCaps: UidCaps;
  private readonly errorRate = new ErrorRate();

  constructor(private readonly opts: NotifierCoreOptions) {
    this.metrics = opts.metrics ?? new NotifierMetrics();
    this.pidWaitMs = opts.pidWaitMs ?? 30_000;
    this.reported = ReportedContainers.open(opts.store.dir);
    const maxWaits = opts.maxWaits ?? DEFAULT_LIMITS.maxWaits;
    // a wait holds one pidfd (the runtime), a followed container one (its init): one budget, halved
    this.pendingCaps = new UidCaps(opts.maxPendingPerUid ?? DEFAULT_LIMITS.maxPendingPerUid, Math.max(2, Math.floor(maxWaits / 2)));
    this.followedCaps = new UidCaps(opts.maxFollowedPerUid ?? DEFAULT_LIMITS.maxFollowedPerUid, Math.max(2, maxWaits - Math.floor(maxWaits / 2)));
  }

  /** Containers being followed (pid known, not yet removed). */
  get following(): string[] {
    return [...this.watched.values()].map((w) => w.id);
  }

  /** Pid waits in flight. */
  get waiting(): number {
    return this.pending.size;
  }

  private pendingId(id: string): boolean {
    for (const p of this.pending.values()) if (p.id === id) return true;
    return false;
  }

  private watchedId(id: string): boolean {
    for (const w of this.watched.values()) if (w.id === id) return true;
    return false;
  }

  // ---- runtime execs ----

  /** Handles one answered permission event from the worker. */
  onExec(m: ExecMessage): void {
    // (watchdog answers are counted where the watchdog runs)
    this.metrics.observeHold(m.holdUs / 1e6);
    if (m.record) {
      const claimant = this.claimant(m.record.tgid || m.tid, m.record.uid, m.startTime);
      if (claimant) this.handleArgv(m.tid, m.record.argv.length ? m.record.argv : [m.record.filename], m.record.filename || m.binary, claimant);
      return;
    }
    this.metrics.argvFallbacks++;
    void this.argvFromProc(m.tid, m.binary, m.cmdlineBefore).then(
      (argv) => {
        const uid = processUid(m.tid);
        const claimant = uid === undefined ? undefined : this.claimant(m.tid, uid);
        if (claimant) this.handleArgv(m.tid, argv, m.binary, claimant);
      },
      (e) => {
        this.metrics.argvMissing++;
        this.fail("argv", { id: "" }, `runtime exec by thread ${m.tid} (${printable(m.binary) || "unknown binary"}): no argv: ${String(e)}`, processUid(m.tid) ?? -1);
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

  /**
   * The runtime process behind an exec, with its start time. A runtime that has exited already (a
   * fast failure) can still be root's claim; anyone else's could no longer be verified.
   */
  private claimant(pid: number, uid: number, seenStartTime?: number): Claimant | undefined {
    // the worker's reading, taken right after the answer, when it has one
    const started = seenStartTime ?? startTime(pid);
    if (started === undefined && uid !== 0) return undefined;
    return { uid, pid, startTime: started };
  }

  handleArgv(tid: number, argv: string[], filename: string, claimant: Claimant = { uid: 0, pid: tid, startTime: startTime(tid) }): void {
    try {
      const program = basename(argv[0] || filename);
      if (runtimeKind(program) === "conmon" || runtimeKind(filename) === "conmon") {
        const c = parseConmonArgv(argv);
        if (!c.cid || !validContainerId(c.cid)) return;
        this.rememberConmon(`${claimant.uid}:${c.cid}`, {
          uid: claimant.uid, name: printable(c.name ?? "").slice(0, 128), bundle: c.bundle ?? "", pidFile: c.containerPidfile ?? "", runtime: c.runtime ?? "",
        });
        return;
      }
      // relative paths in argv are the runtime's: its cwd is still the caller's while the exec is held
      const cwd = safeReadlink(`/proc/${tid}/cwd`) ?? "/";
      const r = parseRuncArgv(argv.slice(1), cwd);
      if ((r.command !== "create" && r.command !== "run") || !r.id) return;
      if (!validContainerId(r.id)) {
        this.fail("argv", { id: "" }, `runtime exec by uid ${claimant.uid} (pid ${claimant.pid}): container id ${JSON.stringify(printable(r.id.slice(0, 64)))} is not a valid id`, claimant.uid);
        return;
      }
      // through /proc/self/exe (a runtime re-executing itself) only argv[0] names the runtime
      const runtime = printable(filename && basename(filename) !== "exe" ? basename(filename) : program).slice(0, 32);
      const layout = STATE_LAYOUTS[runtime];
      const stateRoot = r.globals.root ?? layout?.root;
      if (!this.pendingCaps.take(claimant.uid)) {
        this.metrics.countError("capped");
        this.fail("runtime", { id: r.id }, `container ${r.id}: uid ${claimant.uid} has too many containers waiting for their pid (${this.pendingCaps.perUid} per user, ${this.pendingCaps.global} in all): not followed`, claimant.uid);
        return;
      }
      this.created({
        id: r.id, bundle: r.bundle ?? cwd, runtime, pidFile: r.pidFile, claimant,
        stateFile: stateRoot ? join(stateRoot, r.id, (layout ?? STATE_LAYOUTS.runc!).file) : undefined, runtimePid: claimant.pid,
        runtimeTraceId: r.command === "run" && r.flags.detach !== true ? this.traceRuntime(claimant.pid) : undefined,
      });
    } catch (e) {
      this.fail("argv", { id: "" }, `runtime argv ${printable(JSON.stringify(argv.slice(0, 6)))}: ${errText(e)}`, claimant.uid);
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

  /** Bounded: a non-root uid's oldest entry goes past its share; past the total, a non-root one first. */
  private rememberConmon(key: string, info: ConmonInfo & { uid: number }): void {
    this.conmon.delete(key);
    const mine = [...this.conmon].filter(([, v]) => v.uid === info.uid);
    if (info.uid !== 0 && mine.length >= CONMON_SLOTS_PER_UID) this.conmon.delete(mine[0]![0]);
    if (this.conmon.size >= CONMON_SLOTS) {
      const victim = [...this.conmon].find(([, v]) => v.uid !== 0) ?? [...this.conmon][0]!;
      this.conmon.delete(victim[0]);
    }
    this.conmon.set(key, info);
  }

  private created(c: {
    id: string; bundle: string; runtime: string; pidFile?: string; stateFile?: string; runtimePid: number; runtimeTraceId?: bigint; claimant: Claimant;
  }): void {
    // crun 1.8 re-executes itself from a sealed copy, same process and argv: one container, one precreate
    const creatorKey = `${c.claimant.uid}:${c.id}`;
    if (this.creators.get(creatorKey) === c.runtimePid) return;
    this.creators.set(creatorKey, c.runtimePid);
    const { uid } = c.claimant;
    // conmon's name, when a conmon of the same uid named this id
    const conmonKey = `${uid}:${c.id}`;
    const named = this.conmon.get(conmonKey)?.name ?? "";
    this.conmon.delete(conmonKey);
    // a non-root claim reads only files its uid owns
    const ownerUid = uid === 0 ? undefined : uid;
    let name = named;
    if (!name) {
      try {
        name = nameFromBundle(c.bundle, ownerUid) ?? "";
      } catch (e) {
        this.fail("bundle", { id: c.id, bundle: printable(c.bundle), runtime: c.runtime }, errText(e), uid);
      }
    }
    name ||= c.id;
    const bundle = printable(c.bundle);
    const precreate = makeEvent({ type: "precreate", id: c.id, name, bundle, runtime: c.runtime, source: "notifier" });
    // root's claim is believed at once; anyone else's is told once its pid is verified
    if (uid === 0) this.emit(precreate);
    const path = c.pidFile ?? c.stateFile;
    if (!path) {
      this.pendingCaps.give(uid);
      this.fail("pidfile", { id: c.id, bundle, runtime: c.runtime }, `container ${c.id}: no --pid-file and no state root to find its pid`, uid);
      return;
    }
    const source: PidSource = c.pidFile ? "pidfile" : "runc-state";
    // only root's waits are resumed after a restart (and never over another container's entry)
    if (uid === 0 && !this.reported.get(c.id)) this.reported.set(c.id, { state: source, path });
    this.waitForPid({ ...c, name, bundle, path, source, ownerUid, precreate: uid === 0 ? undefined : precreate, capped: true });
  }

  /**
   * Follows a container once its pid appears in `path`. `runtimePid`: the runtime process, whose exit
   * means nothing more will be written (unknown when a restarted notifier resumes the wait).
   */
  private waitForPid(c: {
    id: string; name: string; bundle: string; runtime: string; runtimePid?: number; runtimeTraceId?: bigint; path: string; source: PidSource;
    /** who claims this container; undefined for a wait resumed after a restart (root's) */
    claimant?: Claimant;
    ownerUid?: number;
    /** the precreate to write once the pid is verified (a non-root claim) */
    precreate?: LifecycleEvent;
    /** holds one of pendingCaps */
    capped?: boolean;
  }): void {
    const read = c.source === "pidfile" ? readPidFile : readRuncStatePid;
    const base = { id: c.id, name: c.name, bundle: c.bundle, runtime: c.runtime };
    const claimant: Claimant = c.claimant ?? { uid: 0, pid: c.runtimePid ?? 0 };
    const key = `${claimant.pid}:${claimant.startTime ?? 0}:${c.id}`;
    if (this.pending.has(key)) {
      if (c.capped) this.pendingCaps.give(claimant.uid);
      return;
    }
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
      if (this.pending.get(key)?.finish === finish) this.pending.delete(key);
      if (c.capped) this.pendingCaps.give(claimant.uid);
      const creatorKey = `${claimant.uid}:${c.id}`;
      if (c.runtimePid !== undefined && this.creators.get(creatorKey) === c.runtimePid) this.creators.delete(creatorKey);
    };
    const fail = (kind: ContainerInfoError["kind"], message: string) => {
      finish();
      this.abandon(c.id, claimant.uid);
      this.fail(kind, base, message, claimant.uid);
    };
    const check = (final: boolean): boolean => {
      if (done) return true;
      let pid: number | undefined;
      try {
        pid = read(c.path, c.ownerUid);
      } catch (e) {
        fail("pidfile", errText(e));
        return true;
      }
      if (pid === undefined) {
        if (final) fail("runtime", `container ${c.id}: ${c.runtime} (pid ${c.runtimePid}) ended without writing ${printable(c.path)}`);
        return final;
      }
      const verdict = verifyContainerPid(pid, claimant);
      // root's container may have ended before its pid was read: followed (and removed) as before
      if (!verdict.ok && claimant.uid === 0 && startTime(pid) === undefined) {
        finish(true);
        this.follow({ ...base, uid: 0, pid, cgroup: "", runtimeTraceId: c.runtimeTraceId, runtimePid: c.runtimePid }, true);
        return true;
      }
      if (!verdict.ok) {
        this.metrics.countError("unverified");
        fail("pidfile", `container ${c.id}: ${printable(c.path)} names ${verdict.why}: not followed`);
        return true;
      }
      finish(true);
      if (c.precreate) this.emit(c.precreate);
      this.follow({ ...base, uid: claimant.uid, pid, pidStartTime: verdict.startTime, cgroup: cgroupOf(pid), runtimeTraceId: c.runtimeTraceId, runtimePid: c.runtimePid }, true);
      return true;
    };

    this.pending.set(key, { id: c.id, finish });
    const watchPath = (): boolean => {
      try {
        unwatchFile = this.poller.watchFile(c.path, () => check(false));
        return true;
      } catch (e) {
        if (isErrno(e, "ENOENT", "ENOTDIR")) return false;
        fail("pidfile", `pid file ${printable(c.path)}: cannot watch: ${errText(e)}`);
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
      if (!check(false)) fail("pidfile", `container ${c.id}: no pid in ${printable(c.path)} after ${this.pidWaitMs} ms`);
    }, this.pidWaitMs);
  }

  // ---- containers ----

  /**
   * Watches `c.pid` for its exit. `announce` writes the `add` event (skipped for survivors a previous
   * notifier already reported). Each container is followed once.
   */
  follow(c: Omit<Watched, "traceId" | "ownTrace"> & { pidStartTime?: number }, announce: boolean): void {
    if (this.watched.has(c.pid)) {
      this.untrace(c.runtimeTraceId, c.runtimePid);
      return;
    }
    if (!this.followedCaps.take(c.uid)) {
      this.untrace(c.runtimeTraceId, c.runtimePid);
      this.metrics.countError("capped");
      this.fail("store", c, `container ${c.id}: uid ${c.uid} has too many containers followed (${this.followedCaps.perUid} per user, ${this.followedCaps.global} in all): not followed`, c.uid);
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
      else if (!/exited before/.test(errText(e)) && startTime(c.pid) !== undefined) this.fail("store", c, `container ${c.id}: cannot trace pid ${c.pid}: ${errText(e)}`);
    }
    const { pidStartTime, ...fields } = c;
    const w: Watched = { ...fields, traceId, ownTrace };
    this.watched.set(c.pid, w);
    let pidfd = -1;
    try {
      pidfd = pidfdOpen(c.pid);
    } catch {
      pidfd = -1;
    }
    // the pidfd names the process that was verified, not a later one with its pid
    if (pidfd >= 0 && pidStartTime !== undefined && startTime(c.pid) !== pidStartTime) {
      close(pidfd);
      pidfd = -1;
    }
    if (announce) {
      const prior = this.reported.get(c.id);
      // another container's entry under this id stays (only root replaces one)
      if (c.uid === 0 || !prior) this.reported.set(c.id, { state: "reported", pid: c.pid, traceId });
      this.recordContainer(w);
      this.emit(makeEvent({ type: "add", id: c.id, name: c.name, pid: c.pid, bundle: c.bundle, runtime: c.runtime, cgroup: c.cgroup, source: "notifier" }));
    }
    if (pidfd < 0) {
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
    if (this.watched.get(w.pid) === w) {
      this.watched.delete(w.pid);
      this.followedCaps.give(w.uid);
    }
    const r = this.reported.get(w.id);
    if (r?.state === "reported" && r.pid === w.pid) this.reported.delete(w.id);
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

  /** A pending container that will never get its `add` (only root's waits were remembered). */
  private abandon(id: string, uid: number): void {
    if (uid === 0 && this.reported.get(id)?.state !== "reported" && !this.pendingId(id)) this.reported.delete(id);
  }

  /**
   * Keeps the store's container record in step, without overwriting what a hook recorded. Only
   * verified containers get a record; a non-root one never replaces the record of another live
   * container with its id.
   */
  private recordContainer(w: Watched): void {
    const { store } = this.opts;
    try {
      const cur = store.getContainer(w.id);
      const now = makeEvent({ type: "add", id: w.id, source: "notifier" }).timeNs;
      if (cur && cur.pid === w.pid) return;
      if (cur && w.uid !== 0 && cur.state !== "stopped" && (cur.pid === 0 || alive(cur.pid))) {
        this.fail("store", w, `container ${w.id} of uid ${w.uid}: the store holds another container with this id: not recorded`, w.uid);
        return;
      }
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
      return { uid: 0, id, name: rec?.name || id, bundle: rec?.bundle ?? "", runtime: rec?.runtime ?? "", cgroup: rec?.cgroupPath ?? "" };
    };
    const previous = new Map(this.reported.entries());
    for (const [id, r] of previous) {
      if (this.watchedId(id) || this.pendingId(id)) continue;
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
      if (!c.id || !c.pid || previous.has(c.id) || this.watched.has(c.pid) || this.watchedId(c.id) || this.pendingId(c.id) || !alive(c.pid)) continue;
      const w = { uid: 0, id: c.id, name: printable(c.name || c.id), pid: c.pid, bundle: printable(c.bundle ?? ""), runtime: c.runtime ?? "", cgroup: c.cgroup || cgroupOf(c.pid) };
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

  /**
   * An error about one container or exec. `uid`: whose claim it was (-1 unknown); a non-root uid's
   * errors are rate-limited, so a user looping bad execs cannot flood the event log.
   */
  private fail(kind: ContainerInfoError["kind"], c: Partial<LifecycleEvent> & { id: string }, message: string, uid = 0): void {
    this.metrics.countError(kind);
    if (!this.errorRate.allow(uid)) return;
    message = printable(message);
    const ev = makeEvent({ ...c, id: validContainerId(c.id) ? c.id : "", type: "error", source: "notifier" });
    this.metrics.countEvent("error");
    try {
      this.opts.store.append(ev);
    } catch {
      // the error line below still says it
    }
    this.opts.sink.error(ev, message);
  }

  close(): void {
    for (const { finish } of [...this.pending.values()]) finish();
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
