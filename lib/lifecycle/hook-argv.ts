// The command line a runtime runs a hook with, both ways: what `install` writes into hooks.d files
// and bundles (hookArgs), and reading that same shape back (hookCommandLine). main.ts reads it
// before anything else loads, so a hook, which runs on every container start, skips the general
// command-line parser and its tables (lib/cli/commands.ts, lib/options): a few tenths of a
// millisecond. Any other shape (--debug, --config=FILE, help) goes through the general parser,
// which accepts everything this does. No imports: main.ts loads this for every command.

/** The stages hookshim's hooks run at (createRuntime does prestart's work). */
export const HOOK_STAGES = ["prestart", "createRuntime", "poststop"] as const;
export type HookStage = (typeof HOOK_STAGES)[number];

/** What `hook` takes: a stage, or `auto` (the stage the state's status implies; hooks.d files name one command). */
export const HOOK_STAGE_ARGS = [...HOOK_STAGES, "auto"] as const;
export type HookStageArg = (typeof HOOK_STAGE_ARGS)[number];

/** How the runtime should call hookshim: the executable and the global options to pass on. */
export interface HookCommand {
  binary: string;
  configPath?: string;
  store?: string;
}

/** argv (argv[0] "hookshim") for `stage`: `hookshim [--config FILE] [--store NAME] hook STAGE`. */
export function hookArgs(cmd: HookCommand, stage: HookStageArg): string[] {
  const globals = [...(cmd.configPath ? ["--config", cmd.configPath] : []), ...(cmd.store ? ["--store", cmd.store] : [])];
  return ["hookshim", ...globals, "hook", stage];
}

/** A hook command line as hookArgs writes it. */
export interface HookCommandLine {
  stage: HookStageArg;
  configPath?: string;
  store?: string;
}

/**
 * `args` (argv after argv[0]) when it is exactly a shape hookArgs writes, else undefined (the
 * general parser decides). An option's value must not look like an option: the general parser
 * would refuse `--config --store`, so this does not take it either.
 */
export function hookCommandLine(args: readonly string[]): HookCommandLine | undefined {
  let i = 0;
  let configPath: string | undefined;
  let store: string | undefined;
  const value = () => {
    const v = args[i + 1];
    return v === undefined || v === "" || v.startsWith("-") ? undefined : v;
  };
  if (args[i] === "--config") {
    if ((configPath = value()) === undefined) return undefined;
    i += 2;
  }
  if (args[i] === "--store") {
    if ((store = value()) === undefined) return undefined;
    i += 2;
  }
  if (args.length !== i + 2 || args[i] !== "hook") return undefined;
  const stage = args[i + 1] as HookStageArg;
  if (!HOOK_STAGE_ARGS.includes(stage)) return undefined;
  return { stage, configPath, store };
}
