// Reconciliation beyond the store's own tables (lib/store/reconcile.ts marks gone containers stopped):
// what the hooks would have cleaned up had they not been killed. A cgroup hookshim created for a
// container that is now stopped is removed once empty, and a filter-map entry whose cgroup no longer
// exists is dropped. Run by `ps`, `events` and `store gc` (docs/store-consistency.md says why there
// and not on the container start path).
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { CgroupManager, cgroupMount, isCgroupError } from "../cgroup/index.ts";
import { openExistingStore, StoreMissingError, type ReconcileResult, type Store, type StoreOptions } from "../store/index.ts";
import { removeCgroup } from "./cgroup.ts";

export interface FullReconcileResult extends ReconcileResult {
  /** hookshim-made cgroups of stopped containers removed */
  cgroups: string[];
  /** filter-map entries of cgroups that no longer exist */
  filterEntries: number;
}

/** The ids (directory inodes) of every group in the v2 hierarchy under `root`. */
function cgroupIds(root: string): Set<bigint> {
  const ids = new Set<bigint>();
  const walk = (dir: string) => {
    let st;
    try {
      st = statSync(dir, { bigint: true });
    } catch {
      return; // removed while walking
    }
    ids.add(st.ino);
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) if (e.isDirectory()) walk(join(dir, e.name));
  };
  walk(root);
  return ids;
}

export async function reconcileStore(store: Store): Promise<FullReconcileResult> {
  const result: FullReconcileResult = { ...store.reconcile(), cgroups: [], filterEntries: 0 };
  const root = cgroupMount().mountpoint;
  for (const rec of store.containers()) {
    if (rec.state !== "stopped" || !rec.cgroupCreated || !rec.cgroupPath.startsWith(root + "/")) continue;
    let mgr: CgroupManager;
    try {
      mgr = CgroupManager.load(rec.cgroupPath.slice(root.length));
      // a group of the same path made since (the id taken by a new container) has another id
      if (mgr.id() !== rec.cgroupId || mgr.populated()) continue;
      await removeCgroup(mgr, 1_000);
      result.cgroups.push(rec.cgroupPath);
    } catch (e) {
      if (!isCgroupError(e, "deleted") && !isCgroupError(e, "invalid-group-path")) throw e;
    }
  }
  const filtered = store.filteredCgroups();
  if (filtered.length) {
    const existing = cgroupIds(root);
    for (const id of filtered) if (!existing.has(id) && store.unfilterCgroup(id)) result.filterEntries++;
  }
  return result;
}

/**
 * Reconciles the named store if it exists; for the CLI's readers, which go on with whatever the
 * store holds when this fails (a warning on stderr says why).
 */
export async function reconcileNamedStore(
  name: string,
  warn: (line: string) => void,
  options: StoreOptions = {},
): Promise<FullReconcileResult | undefined> {
  let store: Store;
  try {
    store = openExistingStore(name, options);
  } catch (e) {
    if (e instanceof StoreMissingError) return undefined;
    warn(`hookshim: store ${name} not reconciled: ${(e as Error).message}`);
    return undefined;
  }
  try {
    return await reconcileStore(store);
  } catch (e) {
    warn(`hookshim: store ${name} not reconciled: ${(e as Error).message}`);
    return undefined;
  } finally {
    store.close();
  }
}
