#!/usr/bin/env bun
// The multi-call entry point of dist/hookshim. It sits above every other entry point (hooks/, shim/,
// lib/cli), so nothing under lib/ has to import them back. Dispatches on the name it was called by
// (container-notifier, hookshim-runtime, runc) or on the command line, parsed against the one
// declaration of every command (lib/cli/commands.ts). A command's module is imported only when that
// command runs, except the runtime shim's, and the shim's pass-through path loads nothing but the shim.
//
// The shim is imported statically. It is the most frequent command (containerd calls its runtime
// about five times per container), and as a dynamic import its modules came in seven chunks, because
// the bundler splits modules by which commands share them: about 0.25 ms of chunk loading per call.
// Static, they are part of this chunk. The hooks load the same lib/sys modules in any case, and what
// is the shim's own evaluates nothing costly at load (runtime-argv builds its tables on first use).
import { exitCodeOf, oneLine, UsageError } from "./lib/errors.ts";
import type { CommandMain, GlobalOptions } from "./lib/cli/context.ts";
import type { CommandSpec } from "./lib/options/spec.ts";
import { hookCommandLine } from "./lib/lifecycle/hook-argv.ts";
// the runtime shim: runc's argv goes through untouched, so nothing of ours is parsed from it
import { main as shimMain } from "./shim/main.ts";

type Loader = () => Promise<{ main: CommandMain }>;

const COMMANDS: Record<string, Loader> = {
  hook: () => import("./hooks/main.ts"),
  notifier: () => import("./lib/cli/notifier.ts"),
  validate: () => import("./lib/cli/validate.ts"),
  devices: () => import("./lib/cli/devices.ts"),
  ps: () => import("./lib/cli/ps.ts"),
  events: () => import("./lib/cli/events.ts"),
  store: () => import("./lib/cli/store.ts"),
  install: () => import("./lib/cli/install.ts"),
  doctor: () => import("./lib/cli/doctor.ts"),
  snapshot: () => import("./lib/cli/gadgets.ts"),
  trace: () => import("./lib/cli/gadgets.ts"),
  top: () => import("./lib/cli/gadgets.ts"),
  help: () => import("./lib/cli/help.ts"),
  completion: () => import("./lib/cli/help.ts"),
  version: () => import("./lib/cli/help.ts"),
};

/** Which command a multi-call invocation means, from argv[0]'s basename. */
export function commandForArgv0(argv0: string): string | undefined {
  const b = argv0.slice(argv0.lastIndexOf("/") + 1);
  if (b === "container-notifier") return "notifier";
  if (b === "hookshim-runtime" || b === "runc") return "runtime";
  return undefined;
}

function envGlobals(): GlobalOptions {
  return { debug: false, configPath: process.env.HOOKSHIM_CONFIG || undefined };
}

/**
 * The build starts the executable with JavaScriptCore's tier-up thresholds scaled up
 * (--compile-jit-policy): a hook or the shim runs each function once or twice, and compiling it costs
 * more than it saves. Every other command may run long (the notifier, events -f, the gadgets) and
 * gets the normal policy back before its module loads.
 */
function normalJit(): void {
  Bun.unsafe.setJITPolicy(1);
}

async function dispatch(argv: string[], g: GlobalOptions): Promise<number> {
  // the parser only: help and completion load when asked for
  const [{ HOOKSHIM, GLOBAL_OPTIONS, VERSION }, { parseCommandLine, HelpRequest }] = await Promise.all([
    import("./lib/cli/commands.ts"),
    import("./lib/options/parse.ts"),
  ]);
  const help = async (spec: CommandSpec, path: string[]) => {
    const [{ helpText }, { subcommandsOf }] = await Promise.all([import("./lib/options/help.ts"), import("./lib/options/spec.ts")]);
    return helpText(spec, path, await subcommandsOf(spec), spec.passThrough ? [] : GLOBAL_OPTIONS);
  };
  if (argv.length === 0) {
    console.error(await help(HOOKSHIM, ["hookshim"]));
    return 2;
  }
  if (argv.length === 1 && (argv[0] === "--version" || argv[0] === "-v")) {
    console.log(VERSION);
    return 0;
  }
  let parsed;
  try {
    parsed = await parseCommandLine(HOOKSHIM, argv, GLOBAL_OPTIONS);
  } catch (e) {
    if (!(e instanceof HelpRequest)) throw e;
    console.log(await help(e.spec, e.path));
    return 0;
  }
  g.configPath = parsed.globals.str("config") ?? g.configPath;
  g.store = parsed.globals.str("store") ?? g.store;
  g.debug = parsed.globals.bool("debug");
  const command = parsed.path[1]!;
  if (command === "runtime") return shimMain(parsed.rest, g);
  if (command !== "hook") normalJit();
  const loader = COMMANDS[command];
  if (!loader) throw new UsageError(`hookshim: command "${command}" has no implementation`);
  return (await loader()).main(parsed, g);
}

export async function run(argv: string[], argv0: string): Promise<number> {
  const g = envGlobals();
  try {
    const implied = commandForArgv0(argv0);
    if (implied === "runtime") return await shimMain(argv, g);
    // the command line install writes into hooks.d files and bundles: no general parser on the start path
    const hook = implied ? undefined : hookCommandLine(argv);
    if (hook) {
      g.configPath = hook.configPath ?? g.configPath;
      g.store = hook.store;
      return await (await import("./lib/lifecycle/run.ts")).runHook(hook.stage, g);
    }
    return await dispatch(implied ? [implied, ...argv] : argv, g);
  } catch (e) {
    if ((g.debug || argv.includes("--debug")) && e instanceof Error) console.error(e.stack);
    else console.error(oneLine(e).startsWith("hookshim") ? oneLine(e) : `hookshim: ${oneLine(e)}`);
    return exitCodeOf(e);
  }
}

if (import.meta.main) {
  // Compiled, process.argv0 is the name we were called by (a symlink such as `runc`); under `bun
  // main.ts` it is "bun" and there is no implied command.
  // No top-level await: a --bytecode build in the cjs format rejects it.
  void run(process.argv.slice(2), process.argv0).then((code) => process.exit(code));
}
