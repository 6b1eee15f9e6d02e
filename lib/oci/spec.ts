// The OCI runtime-spec v1.2 configuration (config.md, config-linux.md) as zod schemas, hand-kept.
// Every object is loose: fields this file does not know (other platforms, newer spec versions,
// runtime extensions) pass validation and are written back untouched.
import { z } from "zod";
import {
  AnnotationsSchema,
  absolutePath,
  int32,
  int64,
  intRange,
  nonEmptyString,
  semver,
  stringList,
  syscallNames,
  stringMap,
  uint32,
  uint64,
} from "./primitives.ts";

export { AnnotationsSchema } from "./primitives.ts";
import { LinuxDeviceSchema, LinuxResourcesSchema } from "./resources.ts";
export * from "./resources.ts";

// ---- hooks -------------------------------------------------------------------------------------

export const HookSchema = z.looseObject({
  path: absolutePath,
  args: stringList.optional(),
  env: stringList.optional(),
  /** seconds; the spec: "If set, timeout MUST be greater than zero" */
  timeout: int32.refine((n) => n > 0, { error: (iss) => `must be > 0, got ${String(iss.input)}` }).optional(),
});

/** Hook stages in the order a container's lifecycle reaches them. */
export const STAGES = ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"] as const;
export type Stage = (typeof STAGES)[number];
export const StageSchema = z.enum(STAGES);

const hookList = z.array(HookSchema).optional();
export const HooksSchema = z.looseObject({
  /** deprecated in favour of createRuntime/createContainer/startContainer, still valid */
  prestart: hookList,
  createRuntime: hookList,
  createContainer: hookList,
  startContainer: hookList,
  poststart: hookList,
  poststop: hookList,
});

// ---- process -----------------------------------------------------------------------------------

export const UserSchema = z.looseObject({
  uid: uint32,
  gid: uint32,
  umask: uint32.optional(),
  additionalGids: z.array(uint32).optional(),
});

export const CapabilitiesSchema = z.looseObject({
  bounding: stringList.optional(),
  effective: stringList.optional(),
  inheritable: stringList.optional(),
  permitted: stringList.optional(),
  ambient: stringList.optional(),
});

const RLIMITS = [
  "RLIMIT_AS", "RLIMIT_CORE", "RLIMIT_CPU", "RLIMIT_DATA", "RLIMIT_FSIZE", "RLIMIT_LOCKS", "RLIMIT_MEMLOCK",
  "RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_NOFILE", "RLIMIT_NPROC", "RLIMIT_RSS", "RLIMIT_RTPRIO",
  "RLIMIT_RTTIME", "RLIMIT_SIGPENDING", "RLIMIT_STACK",
] as const;

export const RlimitSchema = z.looseObject({ type: z.enum(RLIMITS), soft: uint64, hard: uint64 });

export const SchedulerSchema = z.looseObject({
  policy: z.enum(["SCHED_OTHER", "SCHED_FIFO", "SCHED_RR", "SCHED_BATCH", "SCHED_ISO", "SCHED_IDLE", "SCHED_DEADLINE"]),
  nice: int32.optional(),
  priority: int32.optional(),
  flags: z
    .array(
      z.enum([
        "SCHED_FLAG_RESET_ON_FORK", "SCHED_FLAG_RECLAIM", "SCHED_FLAG_DL_OVERRUN", "SCHED_FLAG_KEEP_POLICY",
        "SCHED_FLAG_KEEP_PARAMS", "SCHED_FLAG_UTIL_CLAMP_MIN", "SCHED_FLAG_UTIL_CLAMP_MAX",
      ]),
    )
    .optional(),
  runtime: uint64.optional(),
  deadline: uint64.optional(),
  period: uint64.optional(),
});

export const IOPrioritySchema = z.looseObject({
  class: z.enum(["IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE", "IOPRIO_CLASS_IDLE"]),
  priority: intRange(0, 7),
});

const CPU_LIST = /^\d+(-\d+)?(,\d+(-\d+)?)*$/;
const cpuList = z.string().refine((s) => CPU_LIST.test(s), { error: (iss) => `${JSON.stringify(iss.input)} is not a CPU list like 0-3,7` });

export const ProcessSchema = z.looseObject({
  terminal: z.boolean().optional(),
  consoleSize: z.looseObject({ height: uint32, width: uint32 }).optional(),
  user: UserSchema,
  /** non-Windows: "at least one entry is REQUIRED" */
  args: z.array(z.string()).min(1).optional(),
  commandLine: z.string().optional(),
  env: stringList.optional(),
  cwd: absolutePath,
  capabilities: CapabilitiesSchema.optional(),
  rlimits: z.array(RlimitSchema).optional(),
  noNewPrivileges: z.boolean().optional(),
  apparmorProfile: z.string().optional(),
  // the kernel's range for /proc/PID/oom_score_adj: anything else fails at container start
  oomScoreAdj: intRange(-1000, 1000).optional(),
  scheduler: SchedulerSchema.optional(),
  selinuxLabel: z.string().optional(),
  ioPriority: IOPrioritySchema.optional(),
  execCPUAffinity: z.looseObject({ initial: cpuList.optional(), final: cpuList.optional() }).optional(),
});

// ---- root, mounts ------------------------------------------------------------------------------

export const RootSchema = z.looseObject({ path: nonEmptyString, readonly: z.boolean().optional() });

export const IDMappingSchema = z.looseObject({ containerID: uint32, hostID: uint32, size: uint32 });

export const MountSchema = z.looseObject({
  // the spec only says SHOULD be absolute (relative destinations are deprecated, not invalid)
  destination: nonEmptyString,
  source: z.string().optional(),
  type: z.string().optional(),
  options: stringList.optional(),
  uidMappings: z.array(IDMappingSchema).optional(),
  gidMappings: z.array(IDMappingSchema).optional(),
});

// ---- linux -------------------------------------------------------------------------------------

export const NAMESPACE_TYPES = ["pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time"] as const;
export const NamespaceSchema = z.looseObject({ type: z.enum(NAMESPACE_TYPES), path: absolutePath.optional() });

const namespaceList = z.array(NamespaceSchema).superRefine((list, ctx) => {
  const seen = new Set<string>();
  list.forEach((ns, i) => {
    if (seen.has(ns.type)) ctx.addIssue({ code: "custom", path: [i, "type"], input: ns.type, message: `namespace "${ns.type}" is given more than once` });
    seen.add(ns.type);
  });
});

const SECCOMP_ACTIONS = [
  "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP", "SCMP_ACT_ERRNO",
  "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY",
] as const;

// the spec's list plus the later libseccomp architectures runtimes already accept
const SECCOMP_ARCHES = [
  "SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS",
  "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32",
  "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64", "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390", "SCMP_ARCH_S390X",
  "SCMP_ARCH_PARISC", "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64", "SCMP_ARCH_LOONGARCH64", "SCMP_ARCH_M68K",
  "SCMP_ARCH_SH", "SCMP_ARCH_SHEB",
] as const;

export const SeccompSyscallSchema = z.looseObject({
  names: syscallNames,
  action: z.enum(SECCOMP_ACTIONS),
  errnoRet: uint32.optional(),
  args: z
    .array(
      z.looseObject({
        index: uint32,
        value: uint64,
        valueTwo: uint64.optional(),
        op: z.enum(["SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"]),
      }),
    )
    .optional(),
});

export const SeccompSchema = z.looseObject({
  defaultAction: z.enum(SECCOMP_ACTIONS),
  defaultErrnoRet: uint32.optional(),
  architectures: z.array(z.enum(SECCOMP_ARCHES)).optional(),
  flags: z
    .array(z.enum(["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]))
    .optional(),
  listenerPath: absolutePath.optional(),
  listenerMetadata: z.string().optional(),
  syscalls: z.array(SeccompSyscallSchema).optional(),
});

export const IntelRdtSchema = z.looseObject({
  closID: z.string().optional(),
  l3CacheSchema: z.string().optional(),
  memBwSchema: z.string().optional(),
  schemata: stringList.optional(),
  enableMonitoring: z.boolean().optional(),
  enableCMT: z.boolean().optional(),
  enableMBM: z.boolean().optional(),
});

export const LinuxSchema = z.looseObject({
  namespaces: namespaceList.optional(),
  uidMappings: z.array(IDMappingSchema).optional(),
  gidMappings: z.array(IDMappingSchema).optional(),
  timeOffsets: z.partialRecord(z.enum(["boottime", "monotonic"]), z.looseObject({ secs: int64.optional(), nanosecs: uint32.optional() })).optional(),
  devices: z.array(LinuxDeviceSchema).optional(),
  // runtime-spec 1.2: host interface name -> { name: its name inside the container (OPTIONAL) }
  netDevices: z.record(z.string(), z.looseObject({ name: z.string().optional() })).optional(),
  cgroupsPath: z.string().optional(),
  resources: LinuxResourcesSchema.optional(),
  intelRdt: IntelRdtSchema.optional(),
  sysctl: stringMap.optional(),
  seccomp: SeccompSchema.optional(),
  // runc also takes the recursive forms; the spec lists the first four
  rootfsPropagation: z.enum(["shared", "slave", "private", "unbindable", "rshared", "rslave", "rprivate", "runbindable"]).optional(),
  maskedPaths: z.array(absolutePath).optional(),
  readonlyPaths: z.array(absolutePath).optional(),
  mountLabel: z.string().optional(),
  personality: z.looseObject({ domain: z.enum(["LINUX", "LINUX32"]), flags: stringList.optional() }).optional(),
});

// ---- the whole config --------------------------------------------------------------------------

export const SpecSchema = z.looseObject({
  ociVersion: semver,
  process: ProcessSchema.optional(),
  /** required on every platform but Windows */
  root: RootSchema,
  hostname: z.string().optional(),
  domainname: z.string().optional(),
  mounts: z.array(MountSchema).optional(),
  hooks: HooksSchema.optional(),
  annotations: AnnotationsSchema.optional(),
  linux: LinuxSchema.optional(),
});

export type Spec = z.infer<typeof SpecSchema>;
export type Process = z.infer<typeof ProcessSchema>;
export type User = z.infer<typeof UserSchema>;
export type Root = z.infer<typeof RootSchema>;
export type Mount = z.infer<typeof MountSchema>;
export type Hook = z.infer<typeof HookSchema>;
export type Hooks = z.infer<typeof HooksSchema>;
export type Linux = z.infer<typeof LinuxSchema>;
export type LinuxNamespace = z.infer<typeof NamespaceSchema>;
export type LinuxIDMapping = z.infer<typeof IDMappingSchema>;
export type LinuxSeccomp = z.infer<typeof SeccompSchema>;
