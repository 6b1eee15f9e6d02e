// What the notifier reads about a container besides the runtime's argv: the pid from the pid file (or
// runc's state.json), and the name from the bundle's annotations.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { containerNameOf } from "../oci/annotations.ts";

/** Annotations that carry a container's name, by the tool that sets them. */
export { NAME_ANNOTATIONS } from "../oci/annotations.ts";

export class ContainerInfoError extends Error {
  constructor(
    readonly kind: "bundle" | "pidfile" | "runtime" | "store" | "argv",
    message: string,
  ) {
    super(message);
    this.name = "ContainerInfoError";
  }
}

/** The name annotation of a bundle's config.json, or undefined when it has none. */
export function nameFromBundle(bundle: string): string | undefined {
  const path = join(bundle, "config.json");
  let config: unknown;
  try {
    config = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    const why = e instanceof SyntaxError ? `not JSON (${e.message})` : ((e as NodeJS.ErrnoException).code ?? String(e));
    throw new ContainerInfoError("bundle", `bundle ${bundle}: cannot read ${path}: ${why}`);
  }
  return containerNameOf((config as { annotations?: unknown } | null)?.annotations);
}

/**
 * The pid in a pid file, undefined while the file does not exist or is still empty (runc writes it
 * once, but other writers may create then fill it); garbage is an error.
 */
export function readPidFile(path: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new ContainerInfoError("pidfile", `pid file ${path}: ${(e as NodeJS.ErrnoException).code ?? e}`);
  }
  if (text === "") return undefined;
  return parsePid(text, `pid file ${path}`);
}

export function parsePid(text: string, what: string): number {
  const t = text.trim();
  const pid = /^\d{1,10}$/.test(t) ? Number(t) : NaN;
  if (!(pid > 0 && pid <= 0x3fffffff))
    throw new ContainerInfoError("pidfile", `${what}: not a pid: ${JSON.stringify(t.slice(0, 40))}`);
  return pid;
}

/** init_process_pid from runc's <root>/<id>/state.json, for a `runc run` without --pid-file. */
export function readRuncStatePid(path: string): number | undefined {
  return readInitProcess(path)?.pid;
}

/** A container's init as its runtime's state file records it. */
export interface InitProcess {
  pid: number;
  /** start time in clock ticks since boot (/proc/PID/stat field 22), when recorded */
  startTime?: number;
}

/**
 * The init process a runtime state file names: runc's <root>/<id>/state.json (`init_process_pid`,
 * `init_process_start`) or crun's <root>/<id>/status (`pid`, `process-start-time`). Undefined while
 * the file is absent or half-written, or names no pid yet.
 */
export function readInitProcess(path: string): InitProcess | undefined {
  let state: unknown;
  try {
    state = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT" || e instanceof SyntaxError) return undefined;
    throw new ContainerInfoError("pidfile", `runc state ${path}: ${(e as NodeJS.ErrnoException).code ?? e}`);
  }
  const s = (state ?? {}) as Record<string, unknown>;
  const runc = "init_process_pid" in s;
  const pid = runc ? s.init_process_pid : s.pid;
  if (typeof pid !== "number" || !(pid > 0)) return undefined;
  const start = runc ? s.init_process_start : s["process-start-time"];
  return typeof start === "number" && start > 0 ? { pid, startTime: start } : { pid };
}

/** /proc/PID/cmdline as argv. */
export function procCmdline(pid: number): string[] {
  const raw = readFileSync(`/proc/${pid}/cmdline`, "utf8");
  const parts = raw.split("\0");
  if (parts[parts.length - 1] === "") parts.pop();
  return parts;
}
