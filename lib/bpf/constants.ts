// Values from include/uapi/linux/bpf.h.
export const Cmd = {
  MAP_CREATE: 0, MAP_LOOKUP_ELEM: 1, MAP_UPDATE_ELEM: 2, MAP_DELETE_ELEM: 3, MAP_GET_NEXT_KEY: 4, PROG_LOAD: 5,
  OBJ_PIN: 6, OBJ_GET: 7, PROG_ATTACH: 8, PROG_DETACH: 9, PROG_TEST_RUN: 10, PROG_GET_NEXT_ID: 11,
  MAP_GET_NEXT_ID: 12, PROG_GET_FD_BY_ID: 13, MAP_GET_FD_BY_ID: 14, OBJ_GET_INFO_BY_FD: 15, PROG_QUERY: 16,
  RAW_TRACEPOINT_OPEN: 17, BTF_LOAD: 18, BTF_GET_FD_BY_ID: 19, TASK_FD_QUERY: 20, MAP_LOOKUP_AND_DELETE_ELEM: 21,
  MAP_FREEZE: 22, BTF_GET_NEXT_ID: 23, MAP_LOOKUP_BATCH: 24, MAP_LOOKUP_AND_DELETE_BATCH: 25, MAP_UPDATE_BATCH: 26,
  MAP_DELETE_BATCH: 27, LINK_CREATE: 28, LINK_UPDATE: 29, LINK_GET_FD_BY_ID: 30, LINK_GET_NEXT_ID: 31,
  ENABLE_STATS: 32, ITER_CREATE: 33, LINK_DETACH: 34, PROG_BIND_MAP: 35,
} as const;
export const CMD_NAMES: Record<number, string> = Object.fromEntries(Object.entries(Cmd).map(([k, v]) => [v, `BPF_${k}`]));

export const MapType = {
  HASH: 1, ARRAY: 2, PROG_ARRAY: 3, PERF_EVENT_ARRAY: 4, PERCPU_HASH: 5, PERCPU_ARRAY: 6, STACK_TRACE: 7,
  CGROUP_ARRAY: 8, LRU_HASH: 9, LRU_PERCPU_HASH: 10, LPM_TRIE: 11, ARRAY_OF_MAPS: 12, HASH_OF_MAPS: 13,
  QUEUE: 22, STACK: 23, RINGBUF: 27, INODE_STORAGE: 28, TASK_STORAGE: 29, BLOOM_FILTER: 30,
} as const;
export type MapTypeName = keyof typeof MapType;

export const ProgType = {
  SOCKET_FILTER: 1, KPROBE: 2, SCHED_CLS: 3, SCHED_ACT: 4, TRACEPOINT: 5, XDP: 6, PERF_EVENT: 7, CGROUP_SKB: 8,
  CGROUP_SOCK: 9, SOCK_OPS: 13, SK_SKB: 14, CGROUP_DEVICE: 15, SK_MSG: 16, RAW_TRACEPOINT: 17,
  CGROUP_SOCK_ADDR: 18, CGROUP_SYSCTL: 23, RAW_TRACEPOINT_WRITABLE: 24, CGROUP_SOCKOPT: 25, TRACING: 26, EXT: 28,
  LSM: 29, SYSCALL: 31,
} as const;
export const PROG_TYPE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(ProgType).map(([k, v]) => [v, k.toLowerCase()]),
);

export const AttachType = {
  CGROUP_INET_INGRESS: 0, CGROUP_INET_EGRESS: 1, CGROUP_INET_SOCK_CREATE: 2, CGROUP_SOCK_OPS: 3,
  CGROUP_DEVICE: 6, TRACE_RAW_TP: 23, TRACE_FENTRY: 24, TRACE_FEXIT: 25, TRACE_ITER: 28, PERF_EVENT: 41,
} as const;

export const AttachFlag = { ALLOW_OVERRIDE: 1, ALLOW_MULTI: 2, REPLACE: 4 } as const;

export const UpdateFlag = { ANY: 0, NOEXIST: 1, EXIST: 2, LOCK: 4 } as const;

export const MapFlag = {
  NO_PREALLOC: 0x1, NO_COMMON_LRU: 0x2, NUMA_NODE: 0x4, RDONLY: 0x8, WRONLY: 0x10, RDONLY_PROG: 0x80,
  WRONLY_PROG: 0x100, MMAPABLE: 0x400,
} as const;

/** file_flags for BPF_OBJ_GET / open_flags for *_GET_FD_BY_ID */
export const FileFlag = { RDONLY: 0x8, WRONLY: 0x10 } as const;

export const OBJ_NAME_LEN = 16;

/** BPF_DEVCG_DEV_*: the type half (low 16 bits) of a cgroup device program's access_type. */
export const DevcgType = { BLOCK: 1, CHAR: 2 } as const;
/**
 * BPF_DEVCG_ACC_*: the access half (high 16 bits) of access_type. The same bits as the v1
 * controller's ACC_MKNOD/READ/WRITE, so hookshim's device rules carry access in them too.
 */
export const DevcgAccess = { MKNOD: 1, READ: 2, WRITE: 4, ALL: 7 } as const;
