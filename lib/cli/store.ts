// hookshim store gc [--older-than DURATION] | store reset: housekeeping of the pinned store.
import { openStore, resetStore, DEFAULT_STORE } from "../store/index.ts";
import { reconcileStore } from "../lifecycle/reconcile.ts";
import type { GlobalOptions } from "./context.ts";
import { parseArgs, str } from "./args.ts";
import { UsageError } from "./errors.ts";

const UNIT_NS: Record<string, bigint> = {
  ns: 1n, us: 1_000n, ms: 1_000_000n, s: 1_000_000_000n, m: 60_000_000_000n, h: 3_600_000_000_000n, d: 86_400_000_000_000n,
};

/** Go-style durations: "90s", "30m", "1h30m", "2d"; a bare "0" is zero. */
export function parseDuration(text: string, what = "duration"): bigint {
  if (text === "0") return 0n;
  const re = /(\d+)(ns|us|ms|s|m|h|d)/y;
  let total = 0n;
  let at = 0;
  while (at < text.length) {
    re.lastIndex = at;
    const m = re.exec(text);
    if (!m) throw new UsageError(`${what} "${text}": expected a duration such as 10s, 30m, 1h or 1h30m`);
    total += BigInt(m[1]!) * UNIT_NS[m[2]!]!;
    at = re.lastIndex;
  }
  if (!text) throw new UsageError(`${what}: empty duration`);
  return total;
}

export async function main(args: string[], g: GlobalOptions): Promise<number> {
  const [sub, ...rest] = args;
  const name = g.store ?? DEFAULT_STORE;
  if (sub === "gc") {
    const p = parseArgs(rest, [{ name: "older-than", value: true }], "hookshim store gc");
    if (p.positionals.length) throw new UsageError(`hookshim store gc: unexpected argument "${p.positionals[0]}"`);
    const age = parseDuration(str(p, "older-than") ?? "0", "--older-than");
    const store = openStore(name);
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
  if (sub === "reset") {
    const p = parseArgs(rest, [], "hookshim store reset");
    if (p.positionals.length) throw new UsageError(`hookshim store reset: unexpected argument "${p.positionals[0]}"`);
    console.log(resetStore(name) ? `store ${name}: removed` : `store ${name}: nothing to remove`);
    return 0;
  }
  throw new UsageError(`hookshim store: expected "gc" or "reset"${sub ? `, got "${sub}"` : ""}`);
}
