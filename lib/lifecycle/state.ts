// The state a runtime hands a hook on stdin, read with a size bound and checked against what each
// stage is promised. runc 1.1 and podman pass status "creating" with the init's pid to prestart and
// createRuntime (the process exists, the user program has not started: see
// fixtures/states/podman-4.3-prestart.json), and status "stopped", often without a pid, to poststop.
import { InputError } from "../errors.ts";
import { parseState, type State } from "../oci/state.ts";
import { pollIn, read } from "../sys/io.ts";
import { SyscallError } from "../sys/error.ts";
import { concatBytes, utf8 } from "../sys/struct.ts";
import { HOOK_STAGES, type HookStage, type HookStageArg } from "./hook-argv.ts";

export { HOOK_STAGES, type HookStage } from "./hook-argv.ts";

/** A state is a few KiB (annotations included); anything past this is not one. */
export const STATE_SIZE_LIMIT = 1024 * 1024;

const STATUSES_BY_STAGE: Record<HookStage, readonly string[]> = {
  prestart: ["creating", "created"],
  createRuntime: ["creating", "created"],
  poststop: ["stopped"],
};

export function isHookStage(s: string | undefined): s is HookStage {
  return (HOOK_STAGES as readonly (string | undefined)[]).includes(s);
}

/**
 * All of `fd` up to EOF, refusing more than `limit` bytes. Synchronous: a hook has nothing else to
 * do meanwhile, and it avoids setting up a stream for a few hundred bytes.
 */
export function readInput(fd: number, limit = STATE_SIZE_LIMIT, source = "stdin"): string {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const buf = new Uint8Array(64 * 1024);
  for (;;) {
    let n: number;
    try {
      n = read(fd, buf, "read");
    } catch (e) {
      throw new InputError(`${source}: cannot read: ${e instanceof SyscallError ? e.code : (e as Error).message}`);
    }
    if (n < 0) {
      // -EAGAIN: a runtime may hand over a non-blocking pipe
      pollIn([fd], -1);
      continue;
    }
    if (n === 0) break;
    total += n;
    if (total > limit) throw new InputError(`${source}: state is larger than ${limit} bytes`);
    chunks.push(buf.slice(0, n));
  }
  return utf8(concatBytes(chunks));
}

/**
 * What `hook auto` runs: a hooks.d file names one command for all its stages, so the stage is told
 * by the status (creating/created before the start, stopped after the delete).
 */
export function stageForStatus(status: string, source = "stdin"): HookStage {
  if (status === "creating" || status === "created") return "prestart";
  if (status === "stopped") return "poststop";
  throw new InputError(`${source}: status "${status}" belongs to no hook stage hookshim handles (creating, created or stopped)`);
}

/**
 * Parses the state and checks the status and pid `stage` is given ("auto": the stage its status
 * implies); InputError names what is wrong.
 */
export function parseHookState(text: string, requested: HookStageArg, source = "stdin"): { state: State; stage: HookStage } {
  if (text.trim() === "") throw new InputError(`${source}: empty: a hook expects the container state as JSON`);
  const state = parseState(text, source);
  const stage = requested === "auto" ? stageForStatus(state.status, source) : requested;
  const allowed = STATUSES_BY_STAGE[stage];
  if (!allowed.includes(state.status))
    throw new InputError(`${source}: status "${state.status}" is not one a ${stage} hook is run with (${allowed.join(" or ")})`);
  if (stage !== "poststop" && !(Number(state.pid) > 0))
    throw new InputError(`${source}: pid: required (a positive process id) for a ${stage} hook`);
  return { state, stage };
}
