// trace lifecycle: container lifecycle events as the hooks, the shim and the notifier append them to
// the store's event log, followed live (IG's trace of ContainerEvents). Field names are those of
// ARCHITECTURE.md's event format, so `--output json` prints the same objects as `hookshim events --json`.
import { openStore, formatTime, type LifecycleEvent } from "../store/index.ts";
import { shortId, signalName, type Column } from "./columns.ts";
import type { Gadget } from "./gadget.ts";

export interface LifecycleRow {
  event: LifecycleEvent;
  containerId: string;
  containerName: string;
  runtime: string;
}

const ev = (r: LifecycleRow) => r.event;

const columns: Column<LifecycleRow>[] = [
  { name: "time", width: 30, value: (r) => formatTime(ev(r).timeNs) },
  { name: "type", width: 9, value: (r) => ev(r).type },
  { name: "id", width: 12, value: (r) => ev(r).id, text: (r) => shortId(ev(r).id) },
  { name: "name", width: 16, value: (r) => ev(r).name },
  { name: "pid", width: 7, align: "right", value: (r) => ev(r).pid },
  { name: "bundle", width: 24, value: (r) => ev(r).bundle, hidden: true },
  { name: "runtime", width: 8, value: (r) => ev(r).runtime },
  { name: "cgroup", width: 24, value: (r) => ev(r).cgroup, hidden: true },
  { name: "exitcode", json: "exitCode", width: 4, align: "right", value: (r) => ev(r).exitCode },
  { name: "signal", width: 7, value: (r) => ev(r).signal, text: (r) => signalName(ev(r).signal) },
  { name: "source", width: 8, value: (r) => ev(r).source },
];

export function lifecycleRow(event: LifecycleEvent): LifecycleRow {
  return { event, containerId: event.id, containerName: event.name, runtime: event.runtime };
}

export const traceLifecycle: Gadget<LifecycleRow> = {
  name: "lifecycle",
  category: "trace",
  type: "trace",
  description: "Container lifecycle events (created, started, stopped, add, remove, ...) from the store, as they are recorded.",
  params: [{ name: "replay", kind: "bool", description: "print the events already in the log first" }],
  defaults: { interval: "100ms" },
  columns,
  async run(ctx) {
    // a tracer may start before anything was recorded: it creates the store to wait on it
    const store = openStore(ctx.store, ctx.storeOptions);
    try {
      // head is the sequence the next event gets: start right before it unless replaying
      const after = ctx.params.bool("replay") ? 0n : store.eventBounds().head - 1n;
      ctx.ready();
      const onLost = (n: bigint) => ctx.warn(`${n} events were evicted from store ${ctx.store} before they were read`);
      for await (const { event } of store.follow({ after, signal: ctx.signal, intervalMs: ctx.params.duration("interval"), onLost })) {
        ctx.emit(lifecycleRow(event));
      }
    } finally {
      store.close();
    }
  },
};
