// trace exit: processes exiting inside containers, with their exit codes.
//
// Kernel side: bpf/exittrace.ts on sched_process_exit, filtered in the kernel by a cgroup-id set the
// registry fills (populateBpfMap), pushing records onto a BPF queue that this side pops every
// --interval. The program, its link and its maps belong to this gadget run and go with it (closing
// the last fd detaches the program): nothing is pinned, so two runs with different --container
// filters never share a filter, and a killed run leaves nothing behind. The store's pinned filter
// map (ARCHITECTURE.md) serves the store's own exit program; this one is private on purpose.
import { BpfMap, BpfProgram, MapType, ProgType, rawTracepointOpen, type BpfLink } from "../bpf/index.ts";
import { assemble } from "../bpf/asm/index.ts";
import { kernelBtf } from "../bpf/btf.ts";
import { bootTimeWallNs, cString, raiseMemlock } from "../sys/index.ts";
import { exitedEventFromWaitStatus, formatTime } from "../store/index.ts";
import type { CgroupInfo } from "../containers/index.ts";
import { EXIT_RECORD, EXITTRACE_MAPS, exittraceInstructions, type ExittraceOffsets } from "../../bpf/exittrace.ts";
import { EXIT_TRACEPOINT, groupDeadSource } from "../../bpf/groupdead.ts";
import { ContainerDirectory } from "./containers.ts";
import { createFilterMap, syncCgroupFilter } from "./filtermap.ts";
import { shortId, signalName, type Column } from "./columns.ts";
import { matchesFilter, type ContainerFilter, type Gadget } from "./gadget.ts";
import { sleepUnlessAborted } from "./run.ts";
import { defaulted } from "../options/values.ts";


/** One exited process as the kernel recorded it. */
export interface ExitRecord {
  pid: number;
  tid: number;
  ppid: number;
  waitStatus: number;
  cgroupId: bigint;
  bootNs: bigint;
  comm: string;
}

export function decodeExitRecord(b: Uint8Array): ExitRecord {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return {
    pid: v.getUint32(EXIT_RECORD.tgid, true),
    tid: v.getUint32(EXIT_RECORD.tid, true),
    ppid: v.getUint32(EXIT_RECORD.ppid, true),
    waitStatus: v.getUint32(EXIT_RECORD.waitStatus, true),
    cgroupId: v.getBigUint64(EXIT_RECORD.cgroupId, true),
    bootNs: v.getBigUint64(EXIT_RECORD.bootNs, true),
    comm: cString(b, EXIT_RECORD.comm, EXIT_RECORD.commLen),
  };
}

let cachedOffsets: ExittraceOffsets | undefined;
export function exittraceOffsets(): ExittraceOffsets {
  if (cachedOffsets) return cachedOffsets;
  const btf = kernelBtf();
  cachedOffsets = {
    taskExitCode: btf.memberOffset("task_struct", "exit_code"),
    taskRealParent: btf.memberOffset("task_struct", "real_parent"),
    taskTgid: btf.memberOffset("task_struct", "tgid"),
    groupDead: groupDeadSource(btf),
  };
  return cachedOffsets;
}

/** The loaded exit program and its maps; close() detaches and frees all of it. */
export class ExitTracer {
  private readonly scratch = new Uint8Array(EXIT_RECORD.size);
  private readonly zeroKey = new Uint8Array(4);

  private constructor(
    /** cgroup ids whose exits are recorded (u64 -> u32 1) */
    readonly filter: BpfMap,
    private readonly queue: BpfMap,
    private readonly lostCounter: BpfMap,
    private readonly program: BpfProgram,
    private readonly link: BpfLink,
  ) {}

  static start(opts: { queueSize?: number; filterSize?: number } = {}): ExitTracer {
    raiseMemlock();
    const opened: { close(): void }[] = [];
    try {
      const filter = createFilterMap("hs_exit_filter", opts.filterSize);
      opened.push(filter);
      const queue = BpfMap.create({ type: MapType.QUEUE, keySize: 0, valueSize: EXIT_RECORD.size, maxEntries: opts.queueSize ?? 8192, name: "hs_exit_queue" });
      opened.push(queue);
      const lost = BpfMap.create({ type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1, name: "hs_exit_lost" });
      opened.push(lost);
      const insns = assemble(exittraceInstructions(exittraceOffsets()), {
        maps: { [EXITTRACE_MAPS.filter]: filter.fd, [EXITTRACE_MAPS.exits]: queue.fd, [EXITTRACE_MAPS.lost]: lost.fd },
      });
      const program = BpfProgram.load({ type: ProgType.RAW_TRACEPOINT, instructions: insns, name: "hs_exittrace", license: "GPL" });
      opened.push(program);
      const link = rawTracepointOpen(EXIT_TRACEPOINT, program.fd);
      return new ExitTracer(filter, queue, lost, program, link);
    } catch (e) {
      for (const o of opened.reverse()) o.close();
      throw e;
    }
  }

  /** Every record queued since the last drain, oldest first. */
  drain(): ExitRecord[] {
    const out: ExitRecord[] = [];
    while (this.queue.lookupAndDelete(null, this.scratch)) out.push(decodeExitRecord(this.scratch));
    return out;
  }

  /** Exits dropped because the queue was full, since start. */
  lost(): bigint {
    const v = this.lostCounter.lookup(this.zeroKey);
    return v ? new DataView(v.buffer, v.byteOffset).getBigUint64(0, true) : 0n;
  }

  close(): void {
    this.link.close();
    this.program.close();
    this.queue.close();
    this.lostCounter.close();
    this.filter.close();
  }
}

export interface ExitRow {
  timeNs: bigint;
  containerId: string;
  containerName: string;
  runtime: string;
  cgroupId: bigint;
  pid: number;
  tid: number;
  ppid: number;
  comm: string;
  exitCode: number | null;
  signal: number | null;
  coreDumped: boolean;
}

/** A kernel record as a row; `bootWallNs` turns boot-clock time into wall-clock time. */
export function exitRow(rec: ExitRecord, container: { containerId: string; containerName: string; runtime: string } | undefined, bootWallNs: bigint): ExitRow {
  const outcome = exitedEventFromWaitStatus(rec.waitStatus);
  return {
    timeNs: bootWallNs + rec.bootNs,
    containerId: container?.containerId ?? "",
    containerName: container?.containerName ?? "",
    runtime: container?.runtime ?? "",
    cgroupId: rec.cgroupId,
    pid: rec.pid,
    tid: rec.tid,
    ppid: rec.ppid,
    comm: rec.comm,
    exitCode: outcome.exitCode,
    signal: outcome.signal,
    coreDumped: outcome.coreDumped,
  };
}

const columns: Column<ExitRow>[] = [
  { name: "time", width: 30, value: (r) => formatTime(r.timeNs), hidden: true },
  { name: "container", json: "containerId", width: 12, value: (r) => r.containerId, text: (r) => shortId(r.containerId) },
  { name: "name", json: "containerName", width: 16, value: (r) => r.containerName },
  { name: "runtime", width: 10, value: (r) => r.runtime, hidden: true },
  { name: "cgroupid", json: "cgroupId", width: 10, align: "right", value: (r) => r.cgroupId, hidden: true },
  { name: "pid", width: 7, align: "right", value: (r) => r.pid },
  { name: "tid", width: 7, align: "right", value: (r) => r.tid, hidden: true },
  { name: "ppid", width: 7, align: "right", value: (r) => r.ppid },
  { name: "comm", width: 16, value: (r) => r.comm },
  { name: "code", json: "exitCode", width: 4, align: "right", value: (r) => r.exitCode },
  { name: "signal", width: 7, value: (r) => r.signal, text: (r) => signalName(r.signal, r.coreDumped) },
  { name: "core", json: "coreDumped", width: 5, value: (r) => r.coreDumped, hidden: true },
];

/** The registry entries a container filter lets into the kernel filter map. */
function cgroupAccept(dir: ContainerDirectory, f: ContainerFilter): ((info: CgroupInfo) => boolean) | undefined {
  if (!f.container && !f.runtimes.length) return undefined;
  return (info) => {
    const view = dir.byCgroupId(info.cgroupId);
    return view !== undefined && matchesFilter(f, view);
  };
}

export const traceExit: Gadget<ExitRow> = {
  name: "exit",
  category: "trace",
  type: "trace",
  description: "Processes exiting inside containers, with exit code or signal (eBPF on sched_process_exit).",
  params: [
    { name: "runtime-root", kind: "list", description: "OCI runtime state roots (runc --root) to find containers in, besides the stock ones" },
    { name: "queue-size", kind: "int", min: 1, default: "8192", description: "exits the kernel holds between two collections" },
  ],
  defaults: { interval: "500ms" },
  columns,
  async run(ctx) {
    const dir = new ContainerDirectory({ store: ctx.store, storeOptions: ctx.storeOptions, runtimeRoots: ctx.params.list("runtime-root"), warn: ctx.warn });
    const accept = cgroupAccept(dir, ctx.filter);
    const tracer = ExitTracer.start({ queueSize: ctx.params.int("queue-size") });
    try {
      dir.refresh();
      syncCgroupFilter(tracer.filter, dir.registry, accept);
      ctx.ready();
      const bootWall = bootTimeWallNs();
      let lostSeen = 0n;
      const collect = () => {
        const records = tracer.drain();
        // new containers join the filter at each collection; exits before that are not seen
        dir.refresh();
        syncCgroupFilter(tracer.filter, dir.registry, accept);
        for (const rec of records) ctx.emit(exitRow(rec, dir.byCgroupId(rec.cgroupId), bootWall));
        const lost = tracer.lost();
        if (lost > lostSeen) ctx.warn(`${lost - lostSeen} exits lost: the queue was full (raise --queue-size or lower --interval)`);
        lostSeen = lost;
      };
      while (!ctx.signal.aborted) {
        await sleepUnlessAborted(defaulted(ctx.params.duration("interval"), "interval"), ctx.signal);
        collect();
      }
    } finally {
      tracer.close();
    }
  },
};
