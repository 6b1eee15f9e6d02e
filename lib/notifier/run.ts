// Runs the notifier: the exit store, the argv capture, the fanotify watcher, the output and the
// metrics endpoint, wired together; resolves when stopped (SIGINT/SIGTERM or the abort signal).
import { dirname } from "node:path";
import { openStore, eventToJSON, eventLine, type LifecycleEvent, type Store, type StoreOptions } from "../store/index.ts";
import { readdirSync } from "node:fs";
import { raiseMemlock, getRlimit, setRlimit, RLIMIT_NOFILE } from "../sys/index.ts";
import { NotifierCore } from "./notifier.ts";
import { NotifierMetrics, parseListenAddress } from "./metrics.ts";
import { PermissionWatcher } from "./permission.ts";
import { ExecArgsCapture } from "./execargs.ts";
import { existingRuntimes, runtimeNames, RUNTIME_PATHS } from "./paths.ts";
import { runningContainers, runtimeStateRoots } from "./survivors.ts";
import { Registry } from "../containers/index.ts";

export interface NotifierOptions {
  store?: string;
  /** where the store's bpffs is and its capacity when created (hookshim's configuration) */
  storeOptions?: StoreOptions;
  /** replaces the default runtime path list */
  runtimePaths?: string[];
  /** OCI runtime state roots scanned for running containers at start, besides the stock ones */
  runtimeRoots?: string[];
  json: boolean;
  metricsAddr?: string;
  holdBoundMs?: number;
  pidWaitMs?: number;
  signal?: AbortSignal;
  out?: (line: string) => void;
  err?: (line: string) => void;
}

export const DEFAULT_HOLD_BOUND_MS = 100;

export async function runNotifier(o: NotifierOptions): Promise<void> {
  const out = o.out ?? ((l: string) => process.stdout.write(l + "\n"));
  const err = o.err ?? ((l: string) => process.stderr.write(l + "\n"));
  const candidates = o.runtimePaths?.length ? o.runtimePaths : RUNTIME_PATHS;
  const runtimes = existingRuntimes(candidates);
  if (!runtimes.length) throw new Error(`no runtime binary to watch: none of ${candidates.join(", ")} exists (use --runtime-path)`);

  raiseMemlock();
  const store: Store = openStore(o.store, o.storeOptions);
  const metrics = new NotifierMetrics();
  const core = new NotifierCore({
    store,
    metrics,
    pidWaitMs: o.pidWaitMs,
    // a pin per listed path at most (pins.ts), and the inotify fd on their directories
    maxWaits: waitBudget(candidates.length + 1),
    sink: {
      event: (ev) => out(o.json ? eventToJSON(ev) : eventLine(ev)),
      error: (ev, message) => err(o.json ? errorJSON(ev, message) : `hookshim notifier: ${message}`),
    },
  });

  let capture: ExecArgsCapture | undefined;
  try {
    capture = ExecArgsCapture.start(runtimeNames(runtimes, candidates));
  } catch (e) {
    metrics.countError("bpf");
    err(`hookshim notifier: argv capture unavailable, reading /proc after each exec instead: ${e instanceof Error ? e.message : e}`);
  }
  let fatal: (e: Error) => void = () => {};
  const failed = new Promise<Error>((resolve) => (fatal = resolve));
  const watcher = new PermissionWatcher({
    runtimes,
    candidates,
    onRewatch: ({ realPath, change }) => {
      metrics.countRewatch(change);
      // not "watching ...": that line says the notifier is ready, and scripts wait for it
      err(`hookshim notifier: ${realPath} ${change}: ${change === "removed" ? "unmarked" : change === "replaced" ? "marked anew" : "marked"}`);
    },
    recordsFd: capture?.records.fd ?? -1,
    store: { name: store.name, bpffs: dirname(store.dir) },
    holdBoundMs: o.holdBoundMs ?? DEFAULT_HOLD_BOUND_MS,
    onExec: (m) => core.onExec(m),
    onHolds: (holds) => holds.forEach((us) => metrics.observeHold(us / 1e6)),
    onWatchdogAllow: (n) => (metrics.watchdogAllows += n),
    onError: (message) => {
      metrics.countError("fanotify");
      err(`hookshim notifier: ${message}`);
    },
    onFatal: (message) => fatal(new Error(message)),
  });
  watcher.start();

  const server = o.metricsAddr
    ? Bun.serve({
        ...parseListenAddress(o.metricsAddr),
        fetch: (req) =>
          new URL(req.url).pathname === "/metrics"
            ? new Response(metrics.render(), { headers: { "content-type": "text/plain; version=0.0.4" } })
            : new Response("not found\n", { status: 404 }),
      })
    : undefined;

  const roots = runtimeStateRoots([...(o.runtimeRoots ?? []), ...core.stateRootsSeen()]);
  core.adoptRunning(runningContainers(store, containersRegistry(err), roots));
  err(`hookshim notifier: watching ${watcher.marked.join(", ")}${server ? ` metrics on ${server.hostname}:${server.port}` : ""}`);

  const failure = await Promise.race([
    failed,
    new Promise<undefined>((resolve) => {
      const stop = () => resolve(undefined);
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
      o.signal?.addEventListener("abort", stop, { once: true });
    }),
  ]);
  server?.stop(true);
  await watcher.close();
  capture?.close();
  core.close();
  store.close();
  if (failure) throw failure;
}

/** fds kept free for what is not a wait: fanotify event fds (32 per read), /proc and store opens, Bun's own. */
export const FD_RESERVE = 64;

/**
 * How many pidfds the notifier may hold for waits and followed containers: the soft RLIMIT_NOFILE
 * (raised to the hard one) less the fds open now, the `watcher` fds (the runtime binaries it keeps
 * open and follows, opened after this count) and FD_RESERVE. fanotify denies an exec whose event fd
 * it cannot create, so the notifier must never run out of fds.
 */
function waitBudget(watcher: number): number {
  let soft = 1024;
  try {
    const { cur, max } = getRlimit(RLIMIT_NOFILE);
    soft = Number(cur > 1n << 30n ? 1n << 30n : cur);
    if (max > cur) {
      setRlimit(RLIMIT_NOFILE, max, max);
      soft = Number(max > 1n << 30n ? 1n << 30n : max);
    }
  } catch {
    // keep what we have
  }
  let open = 64;
  try {
    open = readdirSync("/proc/self/fd").length;
  } catch {}
  return Math.max(8, Math.min(1 << 16, soft - open - watcher - FD_RESERVE));
}

/** The cgroup registry, or undefined (said on stderr) on a host where it cannot work. */
function containersRegistry(err: (line: string) => void): Registry | undefined {
  try {
    return new Registry();
  } catch (e) {
    err(`hookshim notifier: containers that only the cgroup tree knows are not reported: ${e instanceof Error ? e.message : e}`);
    return undefined;
  }
}

function errorJSON(ev: LifecycleEvent, message: string): string {
  return JSON.stringify({ ...JSON.parse(eventToJSON(ev)), error: message });
}
