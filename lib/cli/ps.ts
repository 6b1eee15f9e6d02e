// hookshim ps [-a] [--json]: the containers the store and the cgroup registry know, a table for people
// or JSON lines for machines. As docker and podman do, ps shows running containers and ps -a all of
// them. Store records come first, as recorded (stopped and created ones only with -a); then the running
// containers the registry finds in the cgroup hierarchy that the store has no record of (containers
// started without hookshim, or before it was installed), with source "registry". The join is
// lib/gadgets' ContainerDirectory, the same the `snapshot containers` gadget uses.
import { signalNameOf } from "../gadgets/columns.ts";
import { byAge, formatTime, processIds, type ContainerRecord, type EventSource } from "../store/index.ts";
import { ContainerDirectory, type ContainerView } from "../gadgets/containers.ts";
import { reconcileNamedStore } from "../lifecycle/reconcile.ts";
import { configuredStore, type GlobalOptions } from "./context.ts";
import type { ParsedCommand } from "../options/index.ts";

/** A row of ps: a store record, or a running container only the registry knows (source "registry"). */
export type PsRow = Omit<ContainerRecord, "source"> & { source: EventSource | "registry" };

/** A registry-only container in the store record's shape: what the registry cannot know is empty. */
export function registryRow(v: ContainerView): PsRow {
  return {
    id: v.containerId,
    name: v.containerName,
    pid: v.pid,
    ...processIds(v.pid, ""),
    cgroupId: v.cgroupId ?? 0n,
    cgroupPath: v.cgroupPath,
    bundle: v.bundle,
    // the store's convention for "not known" is "", not the registry's "unknown"
    runtime: v.runtime === "unknown" ? "" : v.runtime,
    state: "running",
    createdNs: v.createdNs,
    startedNs: 0n,
    stoppedNs: 0n,
    exitCode: null,
    signal: null,
    coreDumped: false,
    cgroupCreated: false,
    source: "registry",
    traceId: 0n,
    pidStartTicks: 0n,
    reconciled: false,
  };
}

/**
 * The rows of ps from a refreshed directory: store records, then registry-only containers by
 * creation. Without `all`, only running containers (registry-only ones always are).
 */
export function psRows(dir: ContainerDirectory, all = true): PsRow[] {
  const unrecorded = dir
    .unrecorded()
    .map(registryRow)
    .sort(byAge);
  // hooks record "created" at prestart and nothing at start: every record not stopped is a live one
  // (reconciliation has stopped those whose container is gone)
  const recorded = all ? dir.storeRecords() : dir.storeRecords().filter((r) => r.state !== "stopped");
  return [...recorded, ...unrecorded];
}

const time = (ns: bigint) => (ns ? formatTime(ns) : null);

export function containerToJSON(c: PsRow): string {
  return JSON.stringify({
    id: c.id,
    name: c.name,
    pid: c.pid,
    state: c.state,
    exitCode: c.exitCode,
    signal: c.signal,
    coreDumped: c.coreDumped,
    runtime: c.runtime,
    bundle: c.bundle,
    cgroup: c.cgroupPath,
    cgroupId: Number(c.cgroupId),
    cgroupCreated: c.cgroupCreated,
    reconciled: c.reconciled,
    pidns: c.pidnsIno,
    mntns: c.mntnsIno,
    created: time(c.createdNs),
    started: time(c.startedNs),
    stopped: time(c.stoppedNs),
    source: c.source,
  });
}

function exitColumn(c: PsRow): string {
  if (c.signal !== null) return (signalNameOf(c.signal) ?? `signal ${c.signal}`) + (c.coreDumped ? " (core)" : "");
  if (c.exitCode !== null) return String(c.exitCode);
  return c.state === "stopped" ? "unknown" : "-"; // stopped, and no one saw how: never invented
}

export function containerTable(rows: PsRow[]): string {
  const header = ["ID", "NAME", "PID", "STATE", "EXIT", "RUNTIME", "CREATED"];
  const cells = rows.map((c) => [
    c.id.slice(0, 12),
    c.name || "-",
    c.pid ? String(c.pid) : "-",
    c.state,
    exitColumn(c),
    c.runtime || "-",
    c.createdNs ? formatTime(c.createdNs).slice(0, 19) + "Z" : "-",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]!.length)));
  return [header, ...cells].map((r) => r.map((v, i) => (i === r.length - 1 ? v : v.padEnd(widths[i]!))).join("  ")).join("\n");
}

export async function main(p: ParsedCommand, g: GlobalOptions): Promise<number> {
  const { name, options } = await configuredStore(g);
  // a missing store is empty (never created here); one that cannot be read fails ps, as it always did
  // no record says created or running for a container that is gone (lib/lifecycle/reconcile.ts)
  await reconcileNamedStore(name, (l) => console.error(l), options);
  const dir = new ContainerDirectory({ store: name, storeOptions: options, strictStore: true });
  dir.refresh();
  const rows = psRows(dir, p.values.bool("all"));
  if (p.values.bool("json")) {
    if (rows.length) process.stdout.write(rows.map(containerToJSON).join("\n") + "\n");
  } else {
    process.stdout.write(containerTable(rows) + "\n");
  }
  return 0;
}
