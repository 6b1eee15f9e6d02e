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
//
// This module holds the notifier's state and decides; each job is its own module: classifying
// runtime execs (runtime-exec.ts), waiting for pid files (pid-wait.ts), following exits
// (exits.ts), reconciling the store (reconcile.ts), adopting survivors (adopt.ts) and reporting
// (output.ts). A little over 350 lines: what is left is the state those jobs share (waits, followed
// containers, per-uid caps) and the steps between them, which read best in one place.
import { close } from "../sys/index.ts";
import { makeEvent, type Store, type LifecycleEvent } from "../store/index.ts";
import { NotifierMetrics } from "./metrics.ts";
import { Poller } from "./poller.ts";
import { ReportedContainers, type PidSource } from "./reported.ts";
import { ContainerInfoError, errText, nameFromBundle, readPidFile, readRuncStatePid } from "./container-info.ts";
import type { ExecMessage } from "./permission-protocol.ts";
import { claimantOf, printable, processUid, verifyContainerPid, startTime, UidCaps, type Claimant } from "./trust.ts";
import { ConmonClaims, InvalidContainerIdError, argvFromProc, classifyRuntimeExec, type RuntimeCreate } from "./runtime-exec.ts";
import { PidWait } from "./pid-wait.ts";
import { exitOutcome, pidfdOfVerified, traceInit, untraceRuntime, type Followed } from "./exits.ts";
import { ContainerIdTakenError, recordRunning, recordStopped } from "./reconcile.ts";
import { adoptRunning, stateRootsSeen, type KnownContainer } from "./adopt.ts";
import { alive, cgroupOf, safeReadlink } from "./procfs.ts";
import type { RunningContainer } from "./survivors.ts";
import { NotifierOutput, type NotifierSink } from "./output.ts";

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

/** A pid wait: the container it is for, and how it is waited for. */
interface Wait extends KnownContainer {
  path: string;
  source: PidSource;
  runtimePid?: number;
  runtimeTraceId?: bigint;
  /** who claims this container; undefined for a wait resumed after a restart (root's) */
  claimant?: Claimant;
  ownerUid?: number;
  /** the precreate to write once the pid is verified (a non-root claim) */
  precreate?: LifecycleEvent;
  /** holds one of pendingCaps */
  capped?: boolean;
}

export class NotifierCore {
  readonly metrics: NotifierMetrics;
  private readonly poller = new Poller();
  private readonly conmon = new ConmonClaims();
  /** pid waits, by runtime process and id */
  private readonly pending = new Map<string, { id: string; cancel: () => void }>();
  /** followed containers, by verified pid */
  private readonly watched = new Map<number, Followed>();
  /** the runtime process whose create of an id is being waited for */
  private readonly creators = new Map<string, number>();
  private readonly reported: ReportedContainers;
  private readonly pidWaitMs: number;
  private readonly pendingCaps: UidCaps;
  private readonly followedCaps: UidCaps;
  private readonly output: NotifierOutput;

  constructor(private readonly opts: NotifierCoreOptions) {
    this.metrics = opts.metrics ?? new NotifierMetrics();
    this.output = new NotifierOutput(opts.store, opts.sink, this.metrics);
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
      const claimant = claimantOf(m.record.tgid || m.tid, m.record.uid, m.startTime);
      if (claimant) this.handleArgv(m.tid, m.record.argv.length ? m.record.argv : [m.record.filename], m.record.filename || m.binary, claimant, m.runtimeTraceId);
      else untraceRuntime(this.opts.store, m.runtimeTraceId, m.record.tgid || m.tid);
      return;
    }
    this.metrics.argvFallbacks++;
    void argvFromProc(m.tid, m.binary, m.cmdlineBefore).then(
      (argv) => {
        const uid = processUid(m.tid);
        const claimant = uid === undefined ? undefined : claimantOf(m.tid, uid);
        if (claimant) this.handleArgv(m.tid, argv, m.binary, claimant);
      },
      (e) => {
        this.metrics.argvMissing++;
        this.output.fail("argv", { id: "" }, `runtime exec by thread ${m.tid} (${printable(m.binary) || "unknown binary"}): no argv: ${String(e)}`, processUid(m.tid) ?? -1);
      },
    );
  }

  /**
   * `heldTraceId`: the worker traced this runtime while its exec was held (root's foreground run);
   * used when this turns out to be a foreground run, freed otherwise.
   */
  handleArgv(tid: number, argv: string[], filename: string, claimant: Claimant = { uid: 0, pid: tid, startTime: startTime(tid) }, heldTraceId?: bigint): void {
    let heldTraceUsed = false;
    try {
      // relative paths in argv are the runtime's: its cwd is still the caller's while the exec is held
      const exec = classifyRuntimeExec(argv, filename, safeReadlink(`/proc/${tid}/cwd`) ?? "/");
      if (!exec) return;
      if (exec.kind === "conmon") {
        this.conmon.remember(claimant.uid, exec.id, exec.info);
        return;
      }
      if (!this.pendingCaps.take(claimant.uid)) {
        this.metrics.countError("capped");
        this.output.fail("runtime", { id: exec.id }, `container ${exec.id}: uid ${claimant.uid} has too many containers waiting for their pid (${this.pendingCaps.perUid} per user, ${this.pendingCaps.global} in all): not followed`, claimant.uid);
        return;
      }
      heldTraceUsed = exec.foreground && heldTraceId !== undefined;
      this.created(exec, claimant, exec.foreground ? (heldTraceId ?? this.traceRuntime(claimant.pid)) : undefined);
    } catch (e) {
      if (e instanceof InvalidContainerIdError) this.output.fail("argv", { id: "" }, `runtime exec by uid ${claimant.uid} (pid ${claimant.pid}): ${e.message}`, claimant.uid);
      else this.output.fail("argv", { id: "" }, `runtime argv ${printable(JSON.stringify(argv.slice(0, 6)))}: ${errText(e)}`, claimant.uid);
    } finally {
      if (!heldTraceUsed) untraceRuntime(this.opts.store, heldTraceId, claimant.pid);
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

  private created(c: RuntimeCreate, claimant: Claimant, runtimeTraceId: bigint | undefined): void {
    const { uid, pid: runtimePid } = claimant;
    // crun 1.8 re-executes itself from a sealed copy, same process and argv: one container, one precreate
    const creatorKey = `${uid}:${c.id}`;
    if (this.creators.get(creatorKey) === runtimePid) return;
    this.creators.set(creatorKey, runtimePid);
    // conmon's name, when a conmon of the same uid named this id
    let name = this.conmon.takeName(uid, c.id);
    // a non-root claim reads only files its uid owns
    const ownerUid = uid === 0 ? undefined : uid;
    if (!name) {
      try {
        name = nameFromBundle(c.bundle, ownerUid) ?? "";
      } catch (e) {
        this.output.fail("bundle", { id: c.id, bundle: printable(c.bundle), runtime: c.runtime }, errText(e), uid);
      }
    }
    name ||= c.id;
    const bundle = printable(c.bundle);
    const precreate = makeEvent({ type: "precreate", id: c.id, name, bundle, runtime: c.runtime, source: "notifier" });
    // root's claim is believed at once; anyone else's is told once its pid is verified
    if (uid === 0) this.output.emit(precreate);
    const path = c.pidFile ?? c.stateFile;
    if (!path) {
      this.pendingCaps.give(uid);
      this.output.fail("pidfile", { id: c.id, bundle, runtime: c.runtime }, `container ${c.id}: no --pid-file and no state root to find its pid`, uid);
      return;
    }
    const source: PidSource = c.pidFile ? "pidfile" : "runc-state";
    // only root's waits are resumed after a restart (and never over another container's entry)
    if (uid === 0 && !this.reported.get(c.id)) this.reported.set(c.id, { state: source, path });
    this.waitForPid({
      uid, id: c.id, name, bundle, runtime: c.runtime, cgroup: "", path, source, runtimePid, runtimeTraceId, claimant, ownerUid,
      precreate: uid === 0 ? undefined : precreate, capped: true,
    });
  }

  /** Follows a container once its pid appears in `c.path` and is verified to be the claimant's container. */
  private waitForPid(c: Wait): void {
    const base = { id: c.id, name: c.name, bundle: c.bundle, runtime: c.runtime };
    const claimant: Claimant = c.claimant ?? { uid: 0, pid: c.runtimePid ?? 0 };
    const key = `${claimant.pid}:${claimant.startTime ?? 0}:${c.id}`;
    if (this.pending.has(key)) {
      if (c.capped) this.pendingCaps.give(claimant.uid);
      return;
    }
    let ended = false;
    /** The wait is over: its claim and bookkeeping go; the runtime's trace too unless the container is followed. */
    const end = (followed: boolean) => {
      if (ended) return;
      ended = true;
      if (!followed) untraceRuntime(this.opts.store, c.runtimeTraceId, c.runtimePid);
      if (this.pending.get(key) === entry) this.pending.delete(key);
      if (c.capped) this.pendingCaps.give(claimant.uid);
      const creatorKey = `${claimant.uid}:${c.id}`;
      if (c.runtimePid !== undefined && this.creators.get(creatorKey) === c.runtimePid) this.creators.delete(creatorKey);
    };
    const failed = (e: ContainerInfoError) => {
      end(false);
      this.abandon(c.id, claimant.uid);
      this.output.fail(e.kind, base, e.message, claimant.uid);
    };
    const wait = new PidWait(
      this.poller,
      {
        id: c.id, runtime: c.runtime, path: c.path, read: c.source === "pidfile" ? readPidFile : readRuncStatePid,
        ownerUid: c.ownerUid, runtimePid: c.runtimePid, timeoutMs: this.pidWaitMs,
      },
      { pid: (pid) => this.pidRead(c, claimant, pid, end, failed), error: failed },
    );
    const entry = { id: c.id, cancel: () => (wait.cancel(), end(false)) };
    this.pending.set(key, entry);
    wait.start();
  }

  /** A pid was read for a wait: follow it once verified (root's may have ended already), else fail the wait. */
  private pidRead(c: Wait, claimant: Claimant, pid: number, end: (followed: boolean) => void, failed: (e: ContainerInfoError) => void): void {
    const base = { id: c.id, name: c.name, bundle: c.bundle, runtime: c.runtime };
    const verdict = verifyContainerPid(pid, claimant);
    // root's container may have ended before its pid was read: followed (and removed) as before
    if (!verdict.ok && claimant.uid === 0 && startTime(pid) === undefined) {
      end(true);
      this.follow({ ...base, uid: 0, pid, cgroup: "", runtimeTraceId: c.runtimeTraceId, runtimePid: c.runtimePid }, true);
      return;
    }
    if (!verdict.ok) {
      this.metrics.countError("unverified");
      failed(new ContainerInfoError("pidfile", `container ${c.id}: ${printable(c.path)} names ${verdict.why}: not followed`));
      return;
    }
    end(true);
    if (c.precreate) this.output.emit(c.precreate);
    this.follow({ ...base, uid: claimant.uid, pid, pidStartTime: verdict.startTime, cgroup: cgroupOf(pid), runtimeTraceId: c.runtimeTraceId, runtimePid: c.runtimePid }, true);
  }

  // ---- containers ----

  /**
   * Watches `c.pid` for its exit. `announce` writes the `add` event (skipped for survivors a previous
   * notifier already reported). Each container is followed once.
   */
  follow(c: Omit<Followed, "traceId" | "ownTrace"> & { pidStartTime?: number }, announce: boolean): void {
    const { store } = this.opts;
    if (this.watched.has(c.pid)) {
      untraceRuntime(store, c.runtimeTraceId, c.runtimePid);
      return;
    }
    if (!this.followedCaps.take(c.uid)) {
      untraceRuntime(store, c.runtimeTraceId, c.runtimePid);
      this.metrics.countError("capped");
      this.output.fail("store", c, `container ${c.id}: uid ${c.uid} has too many containers followed (${this.followedCaps.perUid} per user, ${this.followedCaps.global} in all): not followed`, c.uid);
      return;
    }
    const { traceId, ownTrace, failure } = traceInit(store, c.pid);
    if (failure !== undefined) this.output.fail("store", c, `container ${c.id}: cannot trace pid ${c.pid}: ${errText(failure)}`);
    const { pidStartTime, ...fields } = c;
    const w: Followed = { ...fields, traceId, ownTrace };
    this.watched.set(c.pid, w);
    const pidfd = pidfdOfVerified(c.pid, pidStartTime);
    if (announce) {
      const prior = this.reported.get(c.id);
      // another container's entry under this id stays (only root replaces one)
      if (c.uid === 0 || !prior) this.reported.set(c.id, { state: "reported", pid: c.pid, traceId });
      this.recordContainer(w);
      this.output.emit(makeEvent({ type: "add", id: c.id, name: c.name, pid: c.pid, bundle: c.bundle, runtime: c.runtime, cgroup: c.cgroup, source: "notifier" }));
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

  private async removed(w: Followed): Promise<void> {
    const { store } = this.opts;
    const outcome = await exitOutcome(store, w);
    if (this.watched.get(w.pid) === w) {
      this.watched.delete(w.pid);
      this.followedCaps.give(w.uid);
    }
    const r = this.reported.get(w.id);
    if (r?.state === "reported" && r.pid === w.pid) this.reported.delete(w.id);
    recordStopped(store, w, outcome);
    this.output.emit(makeEvent({
      type: "remove", id: w.id, name: w.name, pid: w.pid, bundle: w.bundle, runtime: w.runtime, cgroup: w.cgroup,
      exitCode: outcome.exitCode, signal: outcome.signal, source: "notifier",
    }));
  }

  /** A pending container that will never get its `add` (only root's waits were remembered). */
  private abandon(id: string, uid: number): void {
    if (uid === 0 && this.reported.get(id)?.state !== "reported" && !this.pendingId(id)) this.reported.delete(id);
  }

  /** The store's record of a newly followed container (reconcile.ts); a refusal is an error event. */
  private recordContainer(w: Followed): void {
    const { store } = this.opts;
    try {
      recordRunning(store, w, alive);
    } catch (e) {
      if (e instanceof ContainerIdTakenError) this.output.fail(e.kind, w, e.message, w.uid);
      else this.output.fail("store", w, `container ${w.id}: cannot record it in store ${store.name}: ${errText(e)}`);
    }
  }

  /** See adopt.ts stateRootsSeen. */
  stateRootsSeen(): string[] {
    return stateRootsSeen(this.reported);
  }

  /** Reports the containers that run now, once (adopt.ts). */
  adoptRunning(candidates: RunningContainer[]): void {
    adoptRunning({
      store: this.opts.store,
      reported: this.reported,
      tracks: (id) => this.watchedId(id) || this.pendingId(id),
      followsPid: (pid) => this.watched.has(pid),
      resumeWait: (c) => this.waitForPid(c),
      follow: (c, announce) => this.follow(c, announce),
      removed: (w) => void this.removed(w),
    }, candidates);
  }

  close(): void {
    for (const { cancel } of [...this.pending.values()]) cancel();
    this.poller.close();
    this.reported.close();
  }
}
