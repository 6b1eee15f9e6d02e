// Classifying a runtime exec from its argv: conmon naming a container, runc/crun creating one
// (`create`, or `run`), or anything else (ignored). Pure, apart from reading a runtime's argv from
// /proc when the execargs program missed it. The argv is hostile: ids are checked, text made
// printable and cut, relative paths resolved against the runtime's own cwd.
import { readFileSync, readlinkSync } from "node:fs";
import { basename, join } from "node:path";
import { RUNTIME_STATE, stateLayoutOf } from "../containers/index.ts";
import { parseConmonArgv, parseRuncArgv } from "../oci/runtime-argv.ts";
import { ContainerInfoError, procCmdline } from "./container-info.ts";
import { runtimeKind } from "./paths.ts";
import { printable, validContainerId } from "./trust.ts";

/** What conmon told us about a container before its runtime runs. */
export interface ConmonInfo {
  name: string;
  bundle: string;
  pidFile: string;
  runtime: string;
}

/** A runtime creating a container: where its pid will be written, and how the runtime runs. */
export interface RuntimeCreate {
  id: string;
  bundle: string;
  /** the runtime's name (runc, crun, ...), printable, at most 32 characters */
  runtime: string;
  pidFile?: string;
  /** <root>/<id>/<file> of the runtime's state, when its root is known */
  stateFile?: string;
  /** a foreground `run`: the runtime exits with its container's status */
  foreground: boolean;
}

export type RuntimeExec = { kind: "conmon"; id: string; info: ConmonInfo } | ({ kind: "create" } & RuntimeCreate);

/** A create or run whose container id is not one (hostile argv): refused, not followed. */
export class InvalidContainerIdError extends ContainerInfoError {
  constructor(readonly id: string) {
    super("argv", `container id ${JSON.stringify(printable(id.slice(0, 64)))} is not a valid id`);
    this.name = "InvalidContainerIdError";
  }
}

/**
 * What one runtime exec is: `filename` is the binary executed, `cwd` the runtime's working
 * directory. undefined for execs that neither name nor create a container. Throws
 * InvalidContainerIdError for a create with a bad id, and the argv parsers' errors.
 */
export function classifyRuntimeExec(argv: readonly string[], filename: string, cwd: string): RuntimeExec | undefined {
  const program = basename(argv[0] || filename);
  if (runtimeKind(program) === "conmon" || runtimeKind(filename) === "conmon") {
    const c = parseConmonArgv([...argv]);
    if (!c.cid || !validContainerId(c.cid)) return undefined;
    const info = { name: printable(c.name ?? "").slice(0, 128), bundle: c.bundle ?? "", pidFile: c.containerPidfile ?? "", runtime: c.runtime ?? "" };
    return { kind: "conmon", id: c.cid, info };
  }
  const r = parseRuncArgv(argv.slice(1), cwd);
  if ((r.command !== "create" && r.command !== "run") || !r.id) return undefined;
  if (!validContainerId(r.id)) throw new InvalidContainerIdError(r.id);
  // through /proc/self/exe (a runtime re-executing itself) only argv[0] names the runtime
  const runtime = printable(filename && basename(filename) !== "exe" ? basename(filename) : program).slice(0, 32);
  const layout = stateLayoutOf(runtime);
  const stateRoot = r.globals.root ?? layout?.root;
  return {
    kind: "create", id: r.id, bundle: r.bundle ?? cwd, runtime, pidFile: r.pidFile,
    stateFile: stateRoot ? join(stateRoot, r.id, (layout ?? RUNTIME_STATE.runc).file) : undefined,
    foreground: r.command === "run" && r.flags.detach !== true,
  };
}

/** The argv of a runtime exec could not be read from /proc. */
export class ArgvUnavailableError extends ContainerInfoError {
  constructor(message: string) {
    super("argv", message);
    this.name = "ArgvUnavailableError";
  }
}

/**
 * After the exec was allowed: /proc/TID/cmdline, once /proc/TID/exe is the runtime binary and the
 * cmdline is no longer the one from before the exec.
 */
export async function argvFromProc(tid: number, binary: string, cmdlineBefore: string | undefined): Promise<string[]> {
  for (let i = 0; i < 100; i++) {
    let exe: string, raw: string;
    try {
      exe = readlinkSync(`/proc/${tid}/exe`);
      raw = readFileSync(`/proc/${tid}/cmdline`, "latin1");
    } catch {
      throw new ArgvUnavailableError("process gone");
    }
    if ((!binary || exe === binary) && raw !== cmdlineBefore) return procCmdline(tid);
    await Bun.sleep(1);
  }
  throw new ArgvUnavailableError(`still not running ${binary} with a new argv`);
}

/** conmon execs remembered until their runtime runs: in all, and per non-root uid */
const CONMON_SLOTS = 1024;
const CONMON_SLOTS_PER_UID = 16;

/**
 * conmon's claims, by uid and container id: a name only ever names that uid's own container.
 * Bounded: a non-root uid's oldest entry goes past its share; past the total, a non-root one first.
 */
export class ConmonClaims {
  private readonly claims = new Map<string, ConmonInfo & { uid: number }>();

  remember(uid: number, id: string, info: ConmonInfo): void {
    const key = `${uid}:${id}`;
    this.claims.delete(key);
    const mine = [...this.claims].filter(([, v]) => v.uid === uid);
    if (uid !== 0 && mine.length >= CONMON_SLOTS_PER_UID) this.claims.delete(mine[0]![0]);
    if (this.claims.size >= CONMON_SLOTS) {
      const victim = [...this.claims].find(([, v]) => v.uid !== 0) ?? [...this.claims][0]!;
      this.claims.delete(victim[0]);
    }
    this.claims.set(key, { ...info, uid });
  }

  /** The name conmon gave `id` for `uid`, forgotten once taken ("" when none). */
  takeName(uid: number, id: string): string {
    const key = `${uid}:${id}`;
    const name = this.claims.get(key)?.name ?? "";
    this.claims.delete(key);
    return name;
  }
}
