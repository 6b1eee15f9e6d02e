// What the notifier reports: lifecycle events and error events, each appended to the store's event
// log and handed to the sink (stdout), and counted. A non-root uid's errors are rate-limited, so a
// user looping bad execs cannot flood the event log.
import { makeEvent, type LifecycleEvent, type Store } from "../store/index.ts";
import { errText, type ContainerInfoError } from "./container-info.ts";
import type { NotifierMetrics } from "./metrics.ts";
import { ErrorRate, printable, validContainerId } from "./trust.ts";

export interface NotifierSink {
  event(ev: LifecycleEvent): void;
  error(ev: LifecycleEvent, message: string): void;
}

export class NotifierOutput {
  private readonly errorRate = new ErrorRate();

  constructor(
    private readonly store: Store,
    private readonly sink: NotifierSink,
    private readonly metrics: NotifierMetrics,
  ) {}

  emit(ev: LifecycleEvent): void {
    this.metrics.countEvent(ev.type);
    try {
      this.store.append(ev);
    } catch (e) {
      this.metrics.countError("store");
      this.sink.error(makeEvent({ type: "error", id: ev.id, source: "notifier" }), `store ${this.store.name}: cannot append: ${errText(e)}`);
    }
    this.sink.event(ev);
  }

  /** An error about one container or exec. `uid`: whose claim it was (-1 unknown). */
  fail(kind: ContainerInfoError["kind"], c: Partial<LifecycleEvent> & { id: string }, message: string, uid = 0): void {
    this.metrics.countError(kind);
    if (!this.errorRate.allow(uid)) return;
    message = printable(message);
    const ev = makeEvent({ ...c, id: validContainerId(c.id) ? c.id : "", type: "error", source: "notifier" });
    this.metrics.countEvent("error");
    try {
      this.store.append(ev);
    } catch {
      // the error line below still says it
    }
    this.sink.error(ev, message);
  }
}
