// hookshim events [--follow] [--json]: the store's event log, one event per line.
import {
  openExistingStore, openStore, StoreMissingError, eventToJSON, eventLine, type Store,
} from "../store/index.ts";
import { reconcileNamedStore } from "../lifecycle/reconcile.ts";
import type { GlobalOptions } from "./context.ts";
import type { ParsedCommand } from "../options/index.ts";
import { configuredStore } from "./context.ts";

export async function main(p: ParsedCommand, g: GlobalOptions): Promise<number> {
  const { name, options } = await configuredStore(g);
  const render = p.values.bool("json") ? eventToJSON : eventLine;
  const follow = p.values.bool("follow");

  // containers found gone get their stopped events first (lib/lifecycle/reconcile.ts)
  await reconcileNamedStore(name, (l) => console.error(l), options);
  let store: Store;
  try {
    // A follower may start before anything was recorded: it creates the store to wait on it.
    store = follow ? openStore(name, options) : openExistingStore(name, options);
  } catch (e) {
    if (e instanceof StoreMissingError) return 0;
    throw e;
  }
  try {
    if (!follow) {
      const { events } = store.readEvents();
      if (events.length) process.stdout.write(events.map((e) => render(e.event)).join("\n") + "\n");
      return 0;
    }
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
    try {
      const lostNote = (n: bigint) => console.error(`hookshim: ${n} events were evicted from store ${name} before they were read`);
      for await (const { event } of store.follow({ signal: stop.signal, onLost: lostNote })) {
        process.stdout.write(render(event) + "\n");
      }
    } finally {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    }
    return 0;
  } finally {
    store.close();
  }
}
