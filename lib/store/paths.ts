// Where a store lives: <bpffs root>/<store name>/, the root overridable with HOOKSHIM_BPFFS so tests
// can use a bpffs of their own.
import { join } from "../posix-path.ts";
import { DEFAULT_BPFFS } from "../bpf/index.ts";
import { FieldValueError } from "./errors.ts";

export const DEFAULT_STORE = "hookshim";

export function bpffsRoot(): string {
  return process.env.HOOKSHIM_BPFFS || DEFAULT_BPFFS;
}

/** A store name is one path component: it names a directory in bpffs and nothing else. */
export function checkStoreName(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(name))
    throw new FieldValueError(`store name "${name}"`, "use letters, digits, '_', '.', '-' (at most 128, not starting with a dot)");
  return name;
}

export function storeDir(name: string, root = bpffsRoot()): string {
  return join(root, checkStoreName(name));
}

/** Pin names inside the store directory. */
export const PIN = {
  meta: "meta",
  containers: "containers",
  events: "events",
  tracing: "tracing_tasks",
  exited: "exited_events",
  cgroups: "cgroup_filter",
  exitLink: "exitsnoop_link",
} as const;
