// What the notifier reads about a container besides the runtime's argv: the pid from the pid file (or
// runc's state.json), and the name from the bundle's annotations. Every one of these paths comes from
// a runtime's argv, which any user writes: read bounded, never through a FIFO or a final symlink, and
// (`ownerUid`) only when the claimant's uid owns the file. Errors never quote the contents.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { containerNameOf } from "../oci/annotations.ts";
import { readBoundedText, BoundedReadError } from "../sys/index.ts";
import { printable } from "./trust.ts";

/** Bounds of what is read: a config.json with its annotations, a pid, a runtime state file. */
export const READ_LIMITS = { config: 4 << 20, pidFile: 64, state: 1 << 20 } as const;

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

/** An error's message, or the thrown value as text. */
export function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function readProblem(e: unknown): string {
  if (e instanceof BoundedReadError) return e.message.slice(e.path.length + 2);
  return e instanceof SyntaxError ? "not JSON" : String(e);
}

/** The name annotation of a bundle's config.json (made printable), or undefined when it has none. */
export function nameFromBundle(bundle: string, ownerUid?: number): string | undefined {
  const path = join(bundle, "config.json");
  let config: unknown;
  try {
    config = JSON.parse(readBoundedText(path, { maxBytes: READ_LIMITS.config, ownerUid }));
  } catch (e) {
    throw new ContainerInfoError("bundle", `bundle ${printable(bundle)}: cannot read ${printable(path)}: ${readProblem(e)}`);
  }
  const name = containerNameOf((config as { annotations?: unknown } | null)?.annotations);
  return name === undefined ? undefined : printable(name).slice(0, 128);
}

/**
 * The pid in a pid file, undefined while the file does not exist or is still empty (runc writes it
 * once, but other writers may create then fill it); garbage is an error.
 */
export function readPidFile(path: string, ownerUid?: number): number | undefined {
  let text: string;
  try {
    text = readBoundedText(path, { maxBytes: READ_LIMITS.pidFile, ownerUid });
  } catch (e) {
    if (e instanceof BoundedReadError && e.problem === "missing") return undefined;
    throw new ContainerInfoError("pidfile", `pid file ${printable(path)}: ${readProblem(e)}`);
  }
  if (text === "") return undefined;
  return parsePid(text, `pid file ${printable(path)}`);
}

/** The pid in `text`; an error (that never quotes the text) when it is not one. */
export function parsePid(text: string, what: string): number {
  const t = text.trim();
  const pid = /^\d{1,10}$/.test(t) ? Number(t) : NaN;
  if (!(pid > 0 && pid <= 0x3fffffff)) throw new ContainerInfoError("pidfile", `${what}: not a pid (${text.length} bytes)`);
  return pid;
}

/** init_process_pid from runc's <root>/<id>/state.json, for a `runc run` without --pid-file. */
export function readRuncStatePid(path: string, ownerUid?: number): number | undefined {
  return readInitProcess(path, ownerUid)?.pid;
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
export function readInitProcess(path: string, ownerUid?: number): InitProcess | undefined {
  let state: unknown;
  try {
    state = JSON.parse(readBoundedText(path, { maxBytes: READ_LIMITS.state, ownerUid }));
  } catch (e) {
    if ((e instanceof BoundedReadError && e.problem === "missing") || e instanceof SyntaxError) return undefined;
    throw new ContainerInfoError("pidfile", `runc state ${printable(path)}: ${readProblem(e)}`);
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
