// hookshim help [COMMAND...], hookshim completion bash, hookshim version: all written from the
// command declarations (commands.ts) by lib/options.
import { bashCompletion, helpText, subcommandsOf, type CommandSpec, type ParsedCommand } from "../options/index.ts";
import { UsageError } from "../errors.ts";
import { GLOBAL_OPTIONS, HOOKSHIM, VERSION } from "./commands.ts";
import type { GlobalOptions } from "./context.ts";

/** The help of the command `names` (below hookshim) leads to. */
export async function helpFor(names: string[]): Promise<string> {
  let spec: CommandSpec = HOOKSHIM;
  const path = ["hookshim"];
  for (const n of names) {
    const sub = (await subcommandsOf(spec)).find((s) => s.name === n);
    if (!sub) throw new UsageError(`hookshim help: no command "${[...path.slice(1), n].join(" ")}" (see hookshim help)`);
    spec = sub;
    path.push(n);
  }
  return helpText(spec, path, await subcommandsOf(spec), spec.passThrough ? [] : GLOBAL_OPTIONS);
}

export async function main(p: ParsedCommand, _g: GlobalOptions): Promise<number> {
  switch (p.path[1]) {
    case "help":
      console.log(await helpFor(p.positionals));
      return 0;
    case "completion":
      process.stdout.write(await bashCompletion(HOOKSHIM, GLOBAL_OPTIONS));
      return 0;
    default:
      console.log(VERSION);
      return 0;
  }
}
