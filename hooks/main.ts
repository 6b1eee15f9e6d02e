// `hookshim hook <stage>`: the OCI hooks a runtime runs. createRuntime does prestart's work; `auto`
// takes the stage from the state's status, for hooks.d files, which name one command for all stages.
import type { GlobalOptions } from "../lib/cli/context.ts";
import { UsageError } from "../lib/errors.ts";

export async function main(args: string[], g: GlobalOptions): Promise<number> {
  const [stage, ...rest] = args;
  if (stage === "prestart" || stage === "createRuntime") return (await import("./prestart.ts")).main(rest, g, stage);
  if (stage === "poststop") return (await import("./poststop.ts")).main(rest, g);
  if (stage === "auto") return (await import("../lib/lifecycle/run.ts")).runHook("auto", rest, g);
  throw new UsageError(`hook: ${stage === undefined ? "a stage is required" : `unknown stage "${stage}"`} (prestart, createRuntime, poststop or auto)`);
}
