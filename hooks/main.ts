// `hookshim hook <stage>`: the OCI hooks a runtime runs (lib/lifecycle/run.ts does the work).
// createRuntime does prestart's work; `auto` takes the stage from the state's status, for hooks.d
// files, which name one command for all stages.
import type { GlobalOptions } from "../lib/cli/context.ts";
import { runHook } from "../lib/lifecycle/run.ts";
import type { HookStageArg } from "../lib/lifecycle/hook-argv.ts";
import type { ParsedCommand } from "../lib/options/index.ts";

export function main(p: ParsedCommand, g: GlobalOptions): Promise<number> {
  return runHook(p.path[2] as HookStageArg, g);
}
