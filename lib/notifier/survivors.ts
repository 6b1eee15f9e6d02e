// Containers that run when the notifier starts: the store's records of running containers whose init
// is still alive, then those only the cgroup hierarchy knows (started before any hook or notifier ran),
// found by the containers registry from the runtimes' cgroup naming.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Store } from "../store/index.ts";
import { Registry } from "../containers/index.ts";

export interface RunningContainer {
  id: string;
  pid: number;
  name?: string;
  bundle?: string;
  runtime?: string;
  cgroup?: string;
}

export function runningContainers(store: Store, registry?: Registry): RunningContainer[] {
  const out: RunningContainer[] = [];
  const seen = new Set<string>();
  for (const r of store.containers()) {
    if (r.state === "stopped" || !r.pid || !existsSync(`/proc/${r.pid}`)) continue;
    seen.add(r.id);
    out.push({ id: r.id, pid: r.pid, name: r.name, bundle: r.bundle, runtime: r.runtime, cgroup: r.cgroupPath });
  }
  if (!registry) return out;
  try {
    registry.populate();
    // the store's kernel-side filter gets every container cgroup on the host, not only hooked ones
    registry.populateBpfMap(store.cgroupFilter);
  } catch {
    return out; // the hierarchy could not be walked: the store's containers are all there is
  }
  for (const c of registry.containers()) {
    if (seen.has(c.containerId)) continue;
    const cgroup = join(registry.mountpoint, c.path);
    const pid = initPid(cgroup);
    if (!pid) continue;
    seen.add(c.containerId);
    let info = c;
    try {
      info = registry.enrich(c.cgroupId) ?? c;
    } catch {
      // no readable bundle: reported with what the cgroup path says
    }
    out.push({ id: c.containerId, pid, name: info.metadata?.name, bundle: info.bundle, runtime: c.runtime, cgroup });
  }
  return out;
}

/**
 * The container's init among the processes of its cgroup: the one whose parent is outside it (the
 * runtime, or conmon/the shim, started it). 0 when the cgroup is empty or gone.
 */
export function initPid(cgroupDir: string): number {
  let pids: number[];
  try {
    pids = readFileSync(join(cgroupDir, "cgroup.procs"), "utf8").split("\n").filter(Boolean).map(Number);
  } catch {
    return 0;
  }
  const members = new Set(pids);
  for (const pid of pids) {
    const ppid = parentPid(pid);
    if (ppid !== undefined && !members.has(ppid)) return pid;
  }
  return pids[0] ?? 0;
}

function parentPid(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ")"
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return undefined;
  }
}
