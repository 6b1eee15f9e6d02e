// hookshim runtime RUNC-ARGS...: the runtime shim. containerd, docker and podman call it as their
// runc; for create and run it injects the hooks hooks.d selects into the bundle's config.json, and
// for every command it then execs the lower runtime with the argv it was given, untouched (same
// pid, same fds: pid files, console sockets and --preserve-fds keep working).
//
// Exit codes: 2 bad input (missing bundle, invalid config.json, invalid hookshim config), 1 any
// other failure; nothing is exec'd after an error, so a container never starts with half its hooks.
// Errors go to stderr (main.ts prints them) and, as runc would log them, to --log.
import type { GlobalOptions } from "../lib/cli/context.ts";
import { oneLine } from "../lib/errors.ts";
import { parseRuncArgv, type RuncInvocation } from "../lib/oci/runtime-argv.ts";
import { execveatFd, startingEnvironment } from "../lib/sys/exec.ts";
import { bindLibc } from "../lib/sys/libc.ts";
import { PhaseTimer } from "../lib/lifecycle/timing.ts";
import { lowerRuntimeEnvironment, withoutBunVariables } from "./environment.ts";
import { findLowerRuntime, selfIdentity, type LowerRuntime } from "./lower-runtime.ts";
import { RuncLog } from "./runc-log.ts";
import { configuredRuntimePath } from "./settings.ts";

/** The commands that read a bundle's config.json and start its hooks. */
export function injectsHooks(inv: RuncInvocation): boolean {
  return inv.command === "create" || inv.command === "run";
}

/** Prepares the bundle when the command needs it; returns the lower runtime to exec. */
async function prepare(inv: RuncInvocation, g: GlobalOptions, log: RuncLog, timing: PhaseTimer): Promise<LowerRuntime> {
  const self = selfIdentity();
  if (!injectsHooks(inv)) {
    const lower = findLowerRuntime({ configured: configuredRuntimePath(g.configPath), self });
    timing.mark("lower runtime");
    return lower;
  }
  // the zod schemas load only here: pass-through commands stay cheap
  const [{ loadConfig }, { injectConfiguredHooks }] = await Promise.all([import("../lib/config/index.ts"), import("./inject.ts")]);
  timing.mark("load inject");
  const config = loadConfig(g.configPath);
  timing.mark("config");
  // found before the bundle is touched: a refused runtime leaves config.json as it was
  const lower = findLowerRuntime({ configured: config.runtime.path, self });
  timing.mark("lower runtime");
  await injectConfiguredHooks(inv, config, g.configPath, log);
  timing.mark("inject");
  return lower;
}

// The libc calls every invocation makes (statx and execveat through syscall, the config's read, the
// signal dispositions restored for the exec), bound in one dlopen: one TinyCC compilation, not six.
const SHIM_LIBC = ["__errno_location", "syscall", "open", "read", "close", "signal"] as const;

export async function main(args: string[], g: GlobalOptions): Promise<number> {
  const timing = new PhaseTimer();
  timing.mark("boot");
  bindLibc(SHIM_LIBC);
  const inv = parseRuncArgv(args, process.cwd());
  const log = RuncLog.of(inv.globals);
  timing.mark("argv");
  try {
    const lower = await prepare(inv, g, log, timing);
    // the caller's environment as the kernel holds it, never decoded; process.env only without /proc
    const block = startingEnvironment();
    const env = block ? withoutBunVariables(block) : lowerRuntimeEnvironment(process.env);
    timing.mark("environment");
    if (timing.enabled) process.stderr.write(`hookshim: runtime ${inv.command ?? ""}: timing: ${timing.summary()}\n`);
    // the fd that was checked is what runs: argv[0] still names the path, as runc expects
    return execveatFd(lower.fd, [lower.path, ...args], env, lower.path);
  } catch (e) {
    log.write("error", `hookshim: ${oneLine(e)}`);
    throw e;
  }
}
