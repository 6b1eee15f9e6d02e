// Containers that run when the notifier starts: the store's records of running containers whose init
// is still alive, then those only the cgroup hierarchy knows (started before any hook or notifier ran),
// found by the containers registry from the runtimes' cgroup naming, then those only an OCI runtime's
// state directory knows (a custom cgroupsPath the registry does not recognise, started while no
// notifier ran or before a killed one learned of it).
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { Store } from "../store/index.ts";
import { Registry, STATE_RUNTIMES, bundleFromStateFile, defaultBundleSearch, runtimeStateFile } from "../containers/index.ts";
import { nameFromBundle, readInitProcess } from "./container-info.ts";
import { parentPid, startTime } from "./trust.ts";

export interface RunningContainer {
  id: string;
  pid: number;
  name?: string;
  bundle?: string;
  runtime?: string;
  cgroup?: string;
}

/**
 * The running containers, each once (by id, and by init pid): the store's, the registry's, then those
 * in the OCI runtime state roots `runtimeRoots` (see runtimeStateRoots).
 */
export function runningContainers(store: Store, registry?: Registry, runtimeRoots: readonly string[] = []): RunningContainer[] {
  const out: RunningContainer[] = [];
  const seen = new Set<string>();
  const pids = new Set<number>();
  const add = (c: RunningContainer) => {
    if (seen.has(c.id) || pids.has(c.pid)) return;
    seen.add(c.id);
    pids.add(c.pid);
    out.push(c);
  };
  for (const r of store.containers()) {
    if (r.state === "stopped" || !r.pid || !existsSync(`/proc/${r.pid}`)) continue;
    add({ id: r.id, pid: r.pid, name: r.name, bundle: r.bundle, runtime: r.runtime, cgroup: r.cgroupPath });
  }
  if (registry) for (const c of registryContainers(store, registry, seen)) add(c);
  for (const c of stateDirContainers(runtimeRoots)) add(c);
  return out;
}

function registryContainers(store: Store, registry: Registry, seen: Set<string>): RunningContainer[] {
  try {
    registry.populate();
    // the store's kernel-side filter gets every container cgroup on the host, not only hooked ones
    registry.populateBpfMap(store.cgroupFilter);
  } catch {
    return []; // the hierarchy could not be walked: the other sources are all there is
  }
  const out: RunningContainer[] = [];
  for (const c of registry.containers()) {
    if (seen.has(c.containerId)) continue;
    const cgroup = join(registry.mountpoint, c.path);
    const pid = initPid(cgroup);
    if (!pid) continue;
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
 * The OCI runtime state roots to scan: the stock ones (runc's /run/runc, crun's /run/crun, docker's,
 * one per containerd namespace under /run/containerd/runc), then `extra` (--runtime-root, and the
 * roots a previous notifier was waiting in), without duplicates.
 */
export function runtimeStateRoots(extra: readonly string[] = []): string[] {
  return [...new Set([...defaultBundleSearch().runtimeRoots, ...extra])];
}

/**
 * Containers whose runtime state dir records a live init: runc's <root>/<id>/state.json or crun's
 * <root>/<id>/status. An init whose start time differs from the recorded one is a reused pid, not the
 * container; unreadable roots and entries are skipped.
 */
export function stateDirContainers(roots: readonly string[]): RunningContainer[] {
  const out: RunningContainer[] = [];
  for (const root of new Set(roots)) {
    let ids: string[];
    try {
      ids = readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
    } catch {
      continue;
    }
    for (const id of ids) {
      const c = stateDirContainer(root, id);
      if (c) out.push(c);
    }
  }
  return out;
}

function stateDirContainer(root: string, id: string): RunningContainer | undefined {
  for (const runtime of STATE_RUNTIMES) {
    const path = runtimeStateFile(runtime, root, id);
    let init;
    try {
      init = readInitProcess(path);
    } catch {
      continue;
    }
    if (!init) continue;
    const started = startTime(init.pid);
    if (started === undefined || (init.startTime !== undefined && started !== init.startTime)) return undefined;
    let bundle: string | undefined;
    let name: string | undefined;
    try {
      bundle = bundleFromStateFile(path);
      if (bundle) name = nameFromBundle(bundle);
    } catch {
      // reported without what the bundle would add
    }
    return { id, pid: init.pid, name, bundle, runtime };
  }
  return undefined;
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
