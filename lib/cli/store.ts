// hookshim store gc [--older-than DURATION] | store reset: housekeeping of the pinned store, the one
// hookshim's configuration (or --store) names.
import { openStore, resetStore } from "../store/index.ts";
import type { ParsedCommand } from "../options/index.ts";
import { configuredStore, type GlobalOptions } from "./context.ts";
import { reconcileStore } from "../lifecycle/reconcile.ts";

export async function main(p: ParsedCommand, g: GlobalOptions): Promise<number> {
  const { name, options } = await configuredStore(g);
  if (p.path[2] === "gc") {
    // --older-than is in milliseconds (lib/options durations); the store ages in nanoseconds
    const age = BigInt(Math.round(p.values.duration("older-than") ?? 0)) * 1_000_000n;
    const store = openStore(name, options);
    try {
      const rec = await reconcileStore(store);
      const r = store.gc(age);
      console.log(
        `store ${name}: reconciled ${rec.stopped.length} gone containers, removed ${rec.cgroups.length} cgroups and ` +
          `${rec.filterEntries} filter entries; removed ${r.containers} containers, ${r.exitedEvents} exit statuses, ` +
          `${r.tracingTasks + rec.tracingTasks} stale tracing entries, ${r.events} events`,
      );
    } finally {
      store.close();
    }
    return 0;
  }
  console.log(resetStore(name, options) ? `store ${name}: removed` : `store ${name}: nothing to remove`);
  return 0;
}
