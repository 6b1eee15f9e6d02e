// The notifier's counters and the permission-event hold-time histogram, rendered in the Prometheus
// text exposition format (version 0.0.4) for GET /metrics.

/** Upper bounds of the hold-time buckets, in seconds: a held runtime exec should cost microseconds. */
export const HOLD_BUCKETS_SECONDS = [
  0.000025, 0.00005, 0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.05, 0.1, 1,
] as const;

export class Histogram {
  readonly counts: number[];
  count = 0;
  sum = 0;
  constructor(readonly bounds: readonly number[]) {
    this.counts = new Array(bounds.length).fill(0);
  }
  observe(v: number): void {
    this.count++;
    this.sum += v;
    const i = this.bounds.findIndex((b) => v <= b);
    if (i >= 0) this.counts[i]!++;
  }
}

/** The most recent observations, for exact quantiles (a histogram only bounds them). */
export class RecentWindow {
  private readonly values: Float64Array;
  private n = 0;
  constructor(size = 4096) {
    this.values = new Float64Array(size);
  }
  observe(v: number): void {
    this.values[this.n++ % this.values.length] = v;
  }
  /** Nearest-rank quantile of the window; NaN when empty. */
  quantile(q: number): number {
    const len = Math.min(this.n, this.values.length);
    if (!len) return NaN;
    const sorted = this.values.slice(0, len).sort();
    return sorted[Math.min(len - 1, Math.max(0, Math.ceil(q * len) - 1))]!;
  }
}

export class NotifierMetrics {
  /** events written, by type (precreate, add, remove, error) */
  readonly events = new Map<string, number>();
  readonly holdSeconds = new Histogram(HOLD_BUCKETS_SECONDS);
  readonly recentHolds = new RecentWindow();
  /** permission events seen */
  permissionEvents = 0;
  /** execs whose argv came from /proc because the BPF map had no record */
  argvFallbacks = 0;
  /** execs whose argv could not be had at all */
  argvMissing = 0;
  /** events the watchdog allowed because they were held longer than the bound */
  watchdogAllows = 0;
  /** errors by kind (bundle, pidfile, runtime, store...) */
  readonly errors = new Map<string, number>();
  /** marks moved because a listed path names another file, by change (appeared, replaced, removed) */
  readonly rewatches = new Map<string, number>();

  countEvent(type: string): void {
    this.events.set(type, (this.events.get(type) ?? 0) + 1);
  }

  countError(kind: string): void {
    this.errors.set(kind, (this.errors.get(kind) ?? 0) + 1);
  }

  countRewatch(change: string): void {
    this.rewatches.set(change, (this.rewatches.get(change) ?? 0) + 1);
  }

  observeHold(seconds: number): void {
    this.permissionEvents++;
    this.holdSeconds.observe(seconds);
    this.recentHolds.observe(seconds);
  }

  /** The Prometheus text format, metrics in a fixed order. */
  render(): string {
    const out: string[] = [];
    const family = (name: string, type: string, help: string) => out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);

    family("hookshim_notifier_events_total", "counter", "Container events written, by type.");
    for (const [type, n] of [...this.events].sort(([a], [b]) => a.localeCompare(b)))
      out.push(`hookshim_notifier_events_total{type="${escapeLabel(type)}"} ${n}`);

    family("hookshim_notifier_permission_events_total", "counter", "fanotify permission events answered.");
    out.push(`hookshim_notifier_permission_events_total ${this.permissionEvents}`);

    const h = this.holdSeconds;
    family("hookshim_notifier_hold_seconds", "histogram", "Time a runtime exec waited for the answer: from sys_enter_execve (the argv record; the kernel stamps no time on the fanotify event) to the answer, or from reading the event when there was no record.");
    let cumulative = 0;
    h.bounds.forEach((b, i) => {
      cumulative += h.counts[i]!;
      out.push(`hookshim_notifier_hold_seconds_bucket{le="${b}"} ${cumulative}`);
    });
    out.push(`hookshim_notifier_hold_seconds_bucket{le="+Inf"} ${h.count}`);
    out.push(`hookshim_notifier_hold_seconds_sum ${h.sum}`);
    out.push(`hookshim_notifier_hold_seconds_count ${h.count}`);

    family("hookshim_notifier_recent_hold_seconds", "summary", "Hold time quantiles over the last 4096 permission events.");
    for (const q of [0.5, 0.9, 0.99]) {
      const v = this.recentHolds.quantile(q);
      out.push(`hookshim_notifier_recent_hold_seconds{quantile="${q}"} ${Number.isNaN(v) ? "NaN" : v}`);
    }

    family("hookshim_notifier_argv_fallbacks_total", "counter", "Runtime execs whose argv was read from /proc instead of the BPF map.");
    out.push(`hookshim_notifier_argv_fallbacks_total ${this.argvFallbacks}`);
    family("hookshim_notifier_argv_missing_total", "counter", "Runtime execs whose argv could not be read.");
    out.push(`hookshim_notifier_argv_missing_total ${this.argvMissing}`);
    family("hookshim_notifier_watchdog_allows_total", "counter", "Permission events allowed by the watchdog after the hold bound.");
    out.push(`hookshim_notifier_watchdog_allows_total ${this.watchdogAllows}`);

    family("hookshim_notifier_runtime_rewatches_total", "counter", "Runtime binaries watched anew or let go because a watched path names another file (a package upgrade), by change.");
    for (const [change, n] of [...this.rewatches].sort(([a], [b]) => a.localeCompare(b)))
      out.push(`hookshim_notifier_runtime_rewatches_total{change="${escapeLabel(change)}"} ${n}`);

    family("hookshim_notifier_errors_total", "counter", "Errors, by kind.");
    for (const [kind, n] of [...this.errors].sort(([a], [b]) => a.localeCompare(b)))
      out.push(`hookshim_notifier_errors_total{kind="${escapeLabel(kind)}"} ${n}`);
    return out.join("\n") + "\n";
  }
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** Parse "HOST:PORT" for Bun.serve; a bare port means loopback. */
export function parseListenAddress(addr: string): { hostname: string; port: number } {
  const i = addr.lastIndexOf(":");
  const host = i >= 0 ? addr.slice(0, i).replace(/^\[(.*)\]$/, "$1") : "127.0.0.1";
  const port = Number(i >= 0 ? addr.slice(i + 1) : addr);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`metrics address ${addr}: port must be 0..65535`);
  return { hostname: host || "127.0.0.1", port };
}
