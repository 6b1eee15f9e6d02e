// hookshim ps [--json]: the containers the store knows, a table for people or JSON lines for machines.
import { constants } from "node:os";
import { openExistingStore, StoreMissingError, DEFAULT_STORE, formatTime, type ContainerRecord } from "../store/index.ts";
import type { GlobalOptions } from "./context.ts";
import { parseArgs, flag } from "./args.ts";
import { UsageError } from "./errors.ts";

const SIGNAL_NAMES = new Map(Object.entries(constants.signals).map(([name, n]) => [n, name]));

/** Records from the store; none when the store has not been created yet. */
export function storeContainers(store: string): ContainerRecord[] {
  let s;
  try {
    s = openExistingStore(store);
  } catch (e) {
    if (e instanceof StoreMissingError) return [];
    throw e;
  }
  try {
    return s.containers();
  } finally {
    s.close();
  }
}

const time = (ns: bigint) => (ns ? formatTime(ns) : null);

export function containerToJSON(c: ContainerRecord): string {
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
    pidns: c.pidnsIno,
    mntns: c.mntnsIno,
    created: time(c.createdNs),
    started: time(c.startedNs),
    stopped: time(c.stoppedNs),
    source: c.source,
  });
}

function exitColumn(c: ContainerRecord): string {
  if (c.signal !== null) return (SIGNAL_NAMES.get(c.signal) ?? `signal ${c.signal}`) + (c.coreDumped ? " (core)" : "");
  if (c.exitCode !== null) return String(c.exitCode);
  return "-";
}

export function containerTable(rows: ContainerRecord[]): string {
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

export async function main(args: string[], g: GlobalOptions): Promise<number> {
  const p = parseArgs(args, [{ name: "json" }], "hookshim ps");
  if (p.positionals.length) throw new UsageError(`hookshim ps: unexpected argument "${p.positionals[0]}"`);
  const rows = storeContainers(g.store ?? DEFAULT_STORE);
  if (flag(p, "json")) {
    if (rows.length) process.stdout.write(rows.map(containerToJSON).join("\n") + "\n");
  } else {
    process.stdout.write(containerTable(rows) + "\n");
  }
  return 0;
}
