// The prestart and createRuntime hook: put the device filter on the container's cgroup, record it,
// start tracking its exit (lib/lifecycle/prestart.ts).
import type { GlobalOptions } from "../lib/cli/context.ts";
import { runHook } from "../lib/lifecycle/run.ts";

export function main(args: string[], g: GlobalOptions, stage: "prestart" | "createRuntime" = "prestart"): Promise<number> {
  return runHook(stage, args, g);
}
