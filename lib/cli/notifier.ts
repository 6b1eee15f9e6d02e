// `hookshim notifier` / `container-notifier`: run lib/notifier until signalled, on the store hookshim's
// configuration names (its options are declared in commands.ts).
import { flag, list, str, type ParsedCommand } from "../options/index.ts";
import { UsageError } from "../errors.ts";
import { configuredStore, type GlobalOptions } from "./context.ts";
import { runNotifier, parseListenAddress } from "../notifier/index.ts";

export async function main(p: ParsedCommand, g: GlobalOptions): Promise<number> {
  if (flag(p, "json") && flag(p, "table")) throw new UsageError("hookshim notifier: --json and --table exclude each other");
  const metricsAddr = str(p, "metrics-addr");
  if (metricsAddr !== undefined) {
    try {
      parseListenAddress(metricsAddr);
    } catch (e) {
      throw new UsageError(`hookshim notifier: --metrics-addr: ${(e as Error).message}`);
    }
  }
  const { name, options } = await configuredStore(g);
  await runNotifier({
    store: name,
    storeOptions: options,
    runtimePaths: list(p, "runtime-path"),
    runtimeRoots: list(p, "runtime-root"),
    json: flag(p, "json") || (!flag(p, "table") && !process.stdout.isTTY),
    metricsAddr,
    holdBoundMs: p.values.int("hold-bound-ms"),
    pidWaitMs: p.values.int("pid-wait-ms"),
  });
  return 0;
}
