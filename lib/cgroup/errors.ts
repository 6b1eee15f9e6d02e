// Errors named after containerd's cgroup2 package, so log lines read the same across tools.
export type CgroupErrorKind =
  | "invalid-group-path" // containerd: "invalid group path"
  | "deleted" // containerd: "cgroup deleted"
  | "not-supported" // containerd: "X not supported on this system"
  | "no-cgroup2" // only cgroup v1 (or nothing) is mounted
  | "invalid-value" // the kernel refused a value (EINVAL, ERANGE, EOPNOTSUPP)
  | "busy" // EBUSY from the kernel (no-internal-process rule, threaded rules, rmdir)
  | "populated" // delete refused: tasks remain
  | "timeout"
  | "systemd" // the systemd driver: a D-Bus call or a unit job failed
  | "io";

export class CgroupError extends Error {
  readonly kind: CgroupErrorKind;
  constructor(kind: CgroupErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CgroupError";
    this.kind = kind;
  }
}

export function isCgroupError(e: unknown, kind?: CgroupErrorKind): e is CgroupError {
  return e instanceof CgroupError && (kind === undefined || e.kind === kind);
}

export const invalidGroupPath = (path: string, why: string) =>
  new CgroupError("invalid-group-path", `invalid group path ${JSON.stringify(path)}: ${why}`);
export const cgroupDeleted = (dir: string) => new CgroupError("deleted", `cgroup deleted: ${dir}`);
export const notSupported = (controller: string) =>
  new CgroupError("not-supported", `${controller} not supported on this system`);

/** The errno code of a node:fs error ("ENOENT"), if it is one. */
export function fsCode(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}
