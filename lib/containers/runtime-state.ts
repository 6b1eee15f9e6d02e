// Where an OCI runtime keeps a container's state: <root>/<id>/<file>, runc in /run/runc/<id>/state.json,
// crun in /run/crun/<id>/status (either may be given another root with --root). Declared once for
// every reader: the notifier (the pid of a `run` without --pid-file, survivors), the bundle search
// and the gadgets' runtime column.
import { join } from "node:path";

export const RUNTIME_STATE = {
  runc: { root: "/run/runc", file: "state.json" },
  crun: { root: "/run/crun", file: "status" },
} as const;

export type StateRuntime = keyof typeof RUNTIME_STATE;

/** The runtimes in the order a state directory is probed: runc's file first. */
export const STATE_RUNTIMES = Object.keys(RUNTIME_STATE) as StateRuntime[];

/** The state layout of a runtime named by its binary (`runc`, `crun`), if it is one of them. */
export function stateLayoutOf(runtime: string): (typeof RUNTIME_STATE)[StateRuntime] | undefined {
  return Object.hasOwn(RUNTIME_STATE, runtime) ? RUNTIME_STATE[runtime as StateRuntime] : undefined;
}

/** <root>/<id>/<file> of `runtime`'s state. */
export function runtimeStateFile(runtime: StateRuntime, root: string, id: string): string {
  return join(root, id, RUNTIME_STATE[runtime].file);
}
