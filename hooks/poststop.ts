// The poststop hook: record the exit, remove what prestart created (lib/lifecycle/poststop.ts).
import type { GlobalOptions } from "../lib/cli/context.ts";
import { runHook } from "../lib/lifecycle/run.ts";

export function main(args: string[], g: GlobalOptions): Promise<number> {
  return runHook("poststop", args, g);
}
