// One hook invocation from the runtime's point of view: state on stdin, nothing on stdout, one line
// on stderr when something failed (naming the stage, the container and the step), and an exit code
// that follows the fail mode: closed fails the container's start, open warns and lets it start.
import { exitCodeOf, oneLine } from "../errors.ts";
import { loadConfig, type HookshimConfig } from "../config/index.ts";
import type { State } from "../oci/state.ts";
import { HookLogger, storeOpener, type HookContext } from "./context.ts";
import { parseHookState, readInput, type HookStage } from "./state.ts";
import type { HookStageArg } from "./hook-argv.ts";
import { PhaseTimer } from "./timing.ts";
import { bindLibc } from "../sys/libc.ts";

// The libc calls every prestart and poststop makes (state, config, cgroupfs, /proc, bpffs, the
// store's bpf(2) calls, its memlock limit and clocks), bound in one dlopen: each dlopen of its own
// is a TinyCC compilation (about 0.07 ms each on a 2-core VM). write(2) is left to the first log line.
const HOOK_LIBC = ["__errno_location", "open", "read", "close", "syscall", "prlimit", "statfs", "mkdir", "clock_gettime"] as const;

export type StageRunner = (state: State, ctx: HookContext) => Promise<unknown>;

// createRuntime does prestart's work: both run in the runtime's namespaces once the init exists.
const RUNNERS: Record<HookStage, () => Promise<StageRunner>> = {
  prestart: async () => (await import("./prestart.ts")).prestart,
  createRuntime: async () => (await import("./prestart.ts")).prestart,
  poststop: async () => (await import("./poststop.ts")).poststop,
};

/** What the caller decided before the hook ran (the CLI's global options, or a test's). */
export interface HookOptions {
  /** hookshim's config file; undefined: /etc/hookshim/config.json, then the defaults */
  configPath?: string;
  /** store name overriding the config's */
  store?: string;
  /** print stacks */
  debug: boolean;
}

export interface RunOptions {
  /** the state's text; default: all of fd 0 */
  input?: () => string;
  /** where log lines go; default stderr */
  sink?: (line: string) => void;
}

/** Runs a hook stage ("auto": the one the state's status implies) and returns its exit code. */
export async function runHook(requested: HookStageArg, g: HookOptions, opts: RunOptions = {}): Promise<number> {
  const timing = new PhaseTimer();
  timing.mark("boot");
  bindLibc(HOOK_LIBC);
  // Until the configuration is read, the fail mode is the safe one.
  let log = new HookLogger("warn", requested, opts.sink);
  try {
    let config: HookshimConfig;
    try {
      config = loadConfig(g.configPath);
    } catch (e) {
      return report(log, e, "closed");
    }
    timing.mark("config");
    log = new HookLogger(config.logLevel, requested, opts.sink);
    let state: State;
    let stage: HookStage;
    try {
      ({ state, stage } = parseHookState(opts.input ? opts.input() : readInput(0), requested));
    } catch (e) {
      return report(log, e, config.failMode);
    }
    timing.mark("state");
    log.setPrefix(`${stage} ${state.id}`);
    const storeName = g.store ?? config.store;
    const ctx: HookContext = { stage, config, storeName, log, openStore: () => storeOpener(config, storeName), timing };
    try {
      const runner = await RUNNERS[stage]();
      timing.mark(`load ${stage}`);
      await runner(state, ctx);
      return 0;
    } catch (e) {
      if (g.debug && e instanceof Error) log.error(e.stack ?? e.message);
      if (config.failMode === "open" && stage !== "poststop") {
        // The container starts: whatever failed, the host's device policy holds on it.
        try {
          const { enforceHostPolicy } = await import("./devices.ts");
          const r = enforceHostPolicy(state.pid!, state.id, config.cgroupParent, config.devices);
          if (r) log.warn(`host device policy attached alone (program ${r.progId}); the container's own device rules are the runtime's`);
        } catch (hostErr) {
          log.error(`${oneLine(e)}; and the host device policy could not be attached: ${oneLine(hostErr)} (the container is stopped)`);
          return 1;
        }
      }
      return report(log, e, config.failMode);
    }
  } finally {
    if (timing.enabled) log.write(`timing: ${timing.summary()}`);
  }
}

function report(log: HookLogger, e: unknown, failMode: HookshimConfig["failMode"]): number {
  if (failMode === "open") {
    log.warn(`${oneLine(e)} (fail mode open: the container is not stopped)`);
    return 0;
  }
  log.error(oneLine(e));
  return exitCodeOf(e);
}
