#!/usr/bin/env bun
// The multi-call entry point of dist/hookshim. It sits above every other entry point (hooks/, shim/,
// lib/cli), so nothing under lib/ has to import them back. Dispatches on the name it was called by
// (container-notifier, hookshim-runtime, runc) or on the first argument. Subcommands are imported
// lazily so a hook only loads what it runs.
import { basename } from "node:path";
import { exitCodeOf, oneLine, UsageError } from "./lib/errors.ts";
import type { CommandMain, GlobalOptions } from "./lib/cli/context.ts";

type Loader = () => Promise<{ main: CommandMain }>;

const COMMANDS: Record<string, Loader> = {
  hook: () => import("./hooks/main.ts"),
  runtime: () => import("./shim/main.ts"),
  notifier: () => import("./lib/cli/notifier.ts"),
  validate: () => import("./lib/cli/validate.ts"),
  devices: () => import("./lib/cli/devices.ts"),
  ps: () => import("./lib/cli/ps.ts"),
  events: () => import("./lib/cli/events.ts"),
  store: () => import("./lib/cli/store.ts"),
  install: () => import("./lib/cli/install.ts"),
  doctor: () => import("./lib/cli/doctor.ts"),
  // gadget categories (Inspektor Gadget style): hookshim <category> <gadget>
  snapshot: () => import("./lib/cli/gadgets.ts"),
  trace: () => import("./lib/cli/gadgets.ts"),
  top: () => import("./lib/cli/gadgets.ts"),
};

const USAGE = `usage: hookshim [--config FILE] [--store NAME] [--debug] COMMAND [ARGS...]
commands:
  hook prestart|createRuntime|poststop   OCI hook (state JSON on stdin)
  runtime RUNC-ARGS...                   runtime shim in front of runc
  notifier [--json] [--runtime-path P]   container-notifier
  validate [--kind config|state|hooks] FILE
  devices compile|apply|check|show|add|remove ...
  ps [--json]   events [--follow] [--json]   store gc|reset
  install [--hooks-dir DIR] [--containerd-config F] [--uninstall]
  doctor
  snapshot containers | trace lifecycle|exit | top cgroups`;

/** Which subcommand a multi-call invocation means, from argv[0]'s basename. */
export function commandForArgv0(argv0: string): string | undefined {
  const b = basename(argv0);
  if (b === "container-notifier") return "notifier";
  if (b === "hookshim-runtime" || b === "runc") return "runtime";
  return undefined;
}

export function splitGlobals(argv: string[]): { g: GlobalOptions; rest: string[] } {
  const g: GlobalOptions = { debug: false, configPath: process.env.HOOKSHIM_CONFIG || undefined };
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    const eq = a.indexOf("=");
    const name = a.startsWith("--") ? (eq >= 0 ? a.slice(0, eq) : a) : a;
    const val = () => {
      if (eq >= 0) return a.slice(eq + 1);
      if (i + 1 >= argv.length) throw new UsageError(`hookshim: option ${name} needs a value`);
      return argv[++i]!;
    };
    if (name === "--config") g.configPath = val();
    else if (name === "--store") g.store = val();
    else if (name === "--debug") g.debug = true;
    else break;
  }
  return { g, rest: argv.slice(i) };
}

export async function run(argv: string[], argv0: string): Promise<number> {
  let debug = argv.includes("--debug");
  try {
    const implied = commandForArgv0(argv0);
    if (implied === "runtime") {
      // A shim must pass runc's argv through untouched: no global parsing of our own.
      const mod = await COMMANDS.runtime!();
      return await mod.main(argv, { debug: false, configPath: process.env.HOOKSHIM_CONFIG || undefined });
    }
    const { g, rest } = splitGlobals(argv);
    debug = g.debug;
    let cmd = implied;
    let args = rest;
    if (!cmd) {
      cmd = rest[0];
      args = rest.slice(1);
      if (!cmd || cmd === "help" || cmd === "--help" || cmd === "-h") {
        (cmd ? console.log : console.error)(USAGE);
        return cmd ? 0 : 2;
      }
      if (cmd === "--version" || cmd === "version") {
        console.log("hookshim 0.1.0");
        return 0;
      }
    }
    const loader = COMMANDS[cmd];
    if (!loader) throw new UsageError(`hookshim: unknown command "${cmd}" (see hookshim --help)`);
    const mod = await loader();
    // gadget commands receive their category as the first argument
    const gadgetArgs = cmd === "snapshot" || cmd === "trace" || cmd === "top" ? [cmd, ...args] : args;
    return await mod.main(gadgetArgs, g);
  } catch (e) {
    if (debug && e instanceof Error) console.error(e.stack);
    else console.error(oneLine(e).startsWith("hookshim") ? oneLine(e) : `hookshim: ${oneLine(e)}`);
    return exitCodeOf(e);
  }
}

if (import.meta.main) {
  // Compiled, process.argv0 is the name we were called by (a symlink such as `runc`); under `bun
  // main.ts` it is "bun" and there is no implied command.
  // No top-level await: bytecode builds (--bytecode, for hook start-up time) reject it.
  void run(process.argv.slice(2), process.argv0).then((code) => process.exit(code));
}
