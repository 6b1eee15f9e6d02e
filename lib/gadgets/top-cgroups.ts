// top cgroups: CPU, memory and task counts of every container cgroup, refreshed every --interval.
//
// A hybrid host keeps its controllers on v1 while containers are tracked in v2 (where cpu.stat is
// always present but memory.current and pids.current only with those controllers enabled), so each
// figure comes from v2 when the v2 cgroup has it, else from the v1 hierarchy of that controller at
// the same relative path (where runc puts it).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseFlatKeyed } from "../cgroup/index.ts";
import { parseMountinfo } from "../sys/index.ts";
import { formatBytes, shortId, type Column } from "./columns.ts";
import { ContainerDirectory } from "./containers.ts";
import type { Gadget } from "./gadget.ts";
import { sleepUnlessAborted } from "./run.ts";
import { defaulted } from "../options/values.ts";

export interface CgroupSample {
  /** cumulative CPU time, µs */
  cpuUsec: number | null;
  memoryBytes: number | null;
  /** tasks (threads) in the cgroup and below */
  pids: number | null;
}

/** v1 mount points of the controllers top reads, from /proc/self/mountinfo; absent ones missing. */
export function v1Controllers(mountinfo = readFileSync("/proc/self/mountinfo", "utf8")): { cpuacct?: string; memory?: string; pids?: string } {
  const out: { cpuacct?: string; memory?: string; pids?: string } = {};
  for (const m of parseMountinfo(mountinfo)) {
    if (m.fstype !== "cgroup") continue;
    for (const c of ["cpuacct", "memory", "pids"] as const) if (!out[c] && m.superOptions.includes(c)) out[c] = m.mountpoint;
  }
  return out;
}

function readNumber(path: string): number | null {
  try {
    const n = Number(readFileSync(path, "utf8").trim());
    return Number.isFinite(n) ? n : null;
  } catch {
    return null;
  }
}

/** One sample of the cgroup at `path` (relative to the hierarchies) with v2 mounted at `v2`. */
export function sampleCgroup(v2: string, path: string, v1: ReturnType<typeof v1Controllers>): CgroupSample {
  const dir = join(v2, path);
  let cpuUsec: number | null = null;
  try {
    cpuUsec = parseFlatKeyed(readFileSync(join(dir, "cpu.stat"), "utf8")).usage_usec ?? null;
  } catch {}
  if (cpuUsec === null && v1.cpuacct) {
    const ns = readNumber(join(v1.cpuacct, path, "cpuacct.usage"));
    cpuUsec = ns === null ? null : Math.floor(ns / 1000);
  }
  const memoryBytes = readNumber(join(dir, "memory.current")) ?? (v1.memory ? readNumber(join(v1.memory, path, "memory.usage_in_bytes")) : null);
  const pids = readNumber(join(dir, "pids.current")) ?? (v1.pids ? readNumber(join(v1.pids, path, "pids.current")) : null);
  return { cpuUsec, memoryBytes, pids };
}

/** CPU use between two samples `elapsedMs` apart, in percent of one CPU. */
export function cpuPercent(before: number | null | undefined, after: number | null, elapsedMs: number): number | null {
  if (before === null || before === undefined || after === null || elapsedMs <= 0) return null;
  return Math.max(0, ((after - before) / 1000 / elapsedMs) * 100);
}

export interface CgroupTopRow extends CgroupSample {
  containerId: string;
  containerName: string;
  runtime: string;
  cgroupId: bigint;
  cgroupPath: string;
  cpuPercent: number | null;
}

const columns: Column<CgroupTopRow>[] = [
  { name: "container", json: "containerId", width: 12, value: (r) => r.containerId, text: (r) => shortId(r.containerId) },
  { name: "name", json: "containerName", width: 16, value: (r) => r.containerName },
  { name: "runtime", width: 10, value: (r) => r.runtime },
  { name: "cgroupid", json: "cgroupId", width: 10, align: "right", value: (r) => r.cgroupId, hidden: true },
  { name: "cpu", json: "cpuPercent", width: 7, align: "right", value: (r) => (r.cpuPercent === null ? null : Math.round(r.cpuPercent * 100) / 100), text: (r) => (r.cpuPercent === null ? "-" : r.cpuPercent.toFixed(1) + "%") },
  { name: "cputime", json: "cpuUsageUsec", width: 12, align: "right", value: (r) => r.cpuUsec, text: (r) => (r.cpuUsec === null ? "-" : (r.cpuUsec / 1e6).toFixed(2) + "s") },
  { name: "memory", json: "memoryBytes", width: 8, align: "right", value: (r) => r.memoryBytes, text: (r) => formatBytes(r.memoryBytes) },
  { name: "pids", width: 5, align: "right", value: (r) => r.pids },
  { name: "cgroup", width: 40, value: (r) => r.cgroupPath },
];

export const topCgroups: Gadget<CgroupTopRow> = {
  name: "cgroups",
  category: "top",
  type: "intervals",
  description: "CPU, memory and tasks of each container cgroup, refreshed every --interval.",
  params: [
    { name: "runtime-root", kind: "list", description: "OCI runtime state roots (runc --root) to find containers in, besides the stock ones" },
  ],
  defaults: { sort: "-cpu,-memory", maxRows: 20, interval: "1s" },
  columns,
  async run(ctx) {
    const dir = new ContainerDirectory({ store: ctx.store, storeOptions: ctx.storeOptions, runtimeRoots: ctx.params.list("runtime-root"), warn: ctx.warn });
    const v1 = v1Controllers();
    const v2 = dir.registry.mountpoint;
    let previous = new Map<bigint, number | null>();
    let previousAt = performance.now();
    dir.refresh();
    for (const c of dir.registry.containers()) previous.set(c.cgroupId, sampleCgroup(v2, c.path, v1).cpuUsec);
    while (!ctx.signal.aborted) {
      await sleepUnlessAborted(defaulted(ctx.params.duration("interval"), "interval"), ctx.signal);
      if (ctx.signal.aborted) break;
      dir.refresh();
      const now = performance.now();
      const current = new Map<bigint, number | null>();
      const rows: CgroupTopRow[] = [];
      for (const view of dir.list()) {
        if (!view.live || view.cgroupId === null) continue; // known to the store only: no cgroup to read
        const sample = sampleCgroup(v2, view.cgroupPath, v1);
        current.set(view.cgroupId, sample.cpuUsec);
        rows.push({
          containerId: view.containerId,
          containerName: view.containerName,
          runtime: view.runtime,
          cgroupId: view.cgroupId,
          cgroupPath: view.cgroupPath,
          ...sample,
          cpuPercent: cpuPercent(previous.get(view.cgroupId), sample.cpuUsec, now - previousAt),
        });
      }
      ctx.publish(rows);
      previous = current;
      previousAt = now;
    }
  },
};
