// `hookshim notifier` / `container-notifier`: parse the options, run lib/notifier until signalled.
import { parseArgs, str, flag, list } from "../options/args.ts";
import { UsageError } from "../errors.ts";
import type { GlobalOptions } from "./context.ts";
import { runNotifier, parseListenAddress } from "../notifier/index.ts";

const SPECS = [
  { name: "json" },
  { name: "table" },
  { name: "runtime-path", value: true, repeat: true },
  { name: "runtime-root", value: true, repeat: true },
  { name: "metrics-addr", value: true },
  { name: "hold-bound-ms", value: true },
  { name: "pid-wait-ms", value: true },
];

const USAGE = `usage: hookshim notifier [OPTIONS]   (also: container-notifier [OPTIONS])
Reports container precreate/add/remove events by watching the runtime binaries with fanotify.
options:
  --json                  one JSON object per event (the default when stdout is not a terminal)
  --table                 one line per event for people
  --runtime-path P        a runtime binary to watch, replacing the default list (repeatable)
  --runtime-root DIR      an OCI runtime state root (runc/crun --root) to scan for containers
                          running at start, besides /run/runc, /run/crun, /run/containerd/runc/* (repeatable)
  --metrics-addr HOST:PORT  serve Prometheus metrics on /metrics
  --hold-bound-ms N       longest a runtime exec is held before it is let through (default 100)
  --pid-wait-ms N         how long a created container may take to write its pid (default 30000)
  -h, --help              this text`;

function positiveInt(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`hookshim notifier: --${name} must be a positive integer, not "${v}"`);
  return n;
}

export async function main(args: string[], g: GlobalOptions): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    process.stdout.write(USAGE + "\n");
    return 0;
  }
  const p = parseArgs(args, SPECS, "hookshim notifier");
  if (p.positionals.length) throw new UsageError(`hookshim notifier: unexpected argument "${p.positionals[0]}"`);
  if (flag(p, "json") && flag(p, "table")) throw new UsageError("hookshim notifier: --json and --table exclude each other");
  const metricsAddr = str(p, "metrics-addr");
  if (metricsAddr !== undefined) {
    try {
      parseListenAddress(metricsAddr);
    } catch (e) {
      throw new UsageError(`hookshim notifier: --metrics-addr: ${(e as Error).message}`);
    }
  }
  await runNotifier({
    store: g.store,
    runtimePaths: list(p, "runtime-path"),
    runtimeRoots: list(p, "runtime-root"),
    json: flag(p, "json") || (!flag(p, "table") && !process.stdout.isTTY),
    metricsAddr,
    holdBoundMs: positiveInt(str(p, "hold-bound-ms"), "hold-bound-ms"),
    pidWaitMs: positiveInt(str(p, "pid-wait-ms"), "pid-wait-ms"),
  });
  return 0;
}
