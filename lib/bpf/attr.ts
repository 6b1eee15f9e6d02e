// The parts of `union bpf_attr` hookshim uses, and the info structs the kernel fills, declared once
// each with the kernel's field names and offsets (include/uapi/linux/bpf.h), as cilium/ebpf's
// internal/sys does: call sites name fields, never offsets. A layout's size is what hookshim passes
// (at least its fields, sometimes the kernel's whole struct); fields left out stay zero, which the
// kernel requires of fields a caller does not set.
import { Struct } from "../sys/index.ts";
import { OBJ_NAME_LEN } from "./constants.ts";

/** u32, u64, a pointer to a buffer, or an inline char[BPF_OBJ_NAME_LEN] name */
type Kind = "u32" | "u64" | "ptr" | "name";
type Fields = Record<string, readonly [offset: number, kind: Kind]>;

export interface Layout<F extends Fields> {
  /** the kernel's name for it, for messages */
  name: string;
  size: number;
  fields: F;
}

function layout<F extends Fields>(name: string, size: number, fields: F): Layout<F> {
  for (const [field, [off, kind]] of Object.entries(fields)) {
    const width = kind === "u32" ? 4 : kind === "name" ? OBJ_NAME_LEN : 8;
    if (off + width > size) throw new Error(`${name}.${field} ends past the layout's ${size} bytes`);
  }
  return { name, size, fields };
}

export type FieldValue = number | bigint | string | ArrayBufferView | null | undefined;
type Read<K extends Kind> = K extends "u64" | "ptr" ? bigint : K extends "name" ? string : number;

/** A zeroed struct in `layout`'s shape: set and read fields by name. Buffers set as pointers stay referenced by it. */
export class Attr<F extends Fields> extends Struct {
  constructor(readonly layout: Layout<F>, values: { [K in keyof F]?: FieldValue } = {}) {
    super(layout.size);
    for (const [k, v] of Object.entries(values)) if (v !== undefined) this.set(k as keyof F & string, v);
  }

  set<K extends keyof F & string>(field: K, v: FieldValue): this {
    const [off, kind] = this.layout.fields[field]!;
    switch (kind) {
      case "u32":
        return this.u32(off, Number(v ?? 0));
      case "u64":
        return this.u64(off, (v ?? 0) as number | bigint);
      case "ptr":
        return this.pointer(off, v as ArrayBufferView | null);
      case "name":
        return this.cstr(off, String(v ?? ""), OBJ_NAME_LEN);
    }
  }

  get<K extends keyof F & string>(field: K): Read<F[K][1]> {
    const [off, kind] = this.layout.fields[field]!;
    if (kind === "u32") return this.getU32(off) as Read<F[K][1]>;
    if (kind === "name") return cName(this.bytes, off) as Read<F[K][1]>;
    return this.getU64(off) as Read<F[K][1]>;
  }

  /** Offset of `field` (the hot element path writes a reused buffer in place). */
  static offset<F extends Fields>(layout: Layout<F>, field: keyof F): number {
    return layout.fields[field]![0];
  }
}

function cName(bytes: Uint8Array, off: number): string {
  let end = off;
  while (end < off + OBJ_NAME_LEN && bytes[end] !== 0) end++;
  return new TextDecoder().decode(bytes.subarray(off, end));
}

// ---- commands (union bpf_attr) --------------------------------------------------------------

export const MAP_CREATE = layout("BPF_MAP_CREATE", 80, {
  map_type: [0, "u32"], key_size: [4, "u32"], value_size: [8, "u32"], max_entries: [12, "u32"], map_flags: [16, "u32"],
  inner_map_fd: [20, "u32"], numa_node: [24, "u32"], map_name: [28, "name"], map_ifindex: [44, "u32"], btf_fd: [48, "u32"],
  btf_key_type_id: [52, "u32"], btf_value_type_id: [56, "u32"], btf_vmlinux_value_type_id: [60, "u32"], map_extra: [64, "u64"],
} as const);

/** MAP_LOOKUP_ELEM, UPDATE_ELEM, DELETE_ELEM, GET_NEXT_KEY, LOOKUP_AND_DELETE_ELEM (value is next_key for GET_NEXT_KEY) */
export const MAP_ELEM = layout("BPF_MAP_*_ELEM", 32, {
  map_fd: [0, "u32"], key: [8, "ptr"], value: [16, "ptr"], flags: [24, "u64"],
} as const);

export const MAP_BATCH = layout("BPF_MAP_*_BATCH", 56, {
  in_batch: [0, "ptr"], out_batch: [8, "ptr"], keys: [16, "ptr"], values: [24, "ptr"], count: [32, "u32"], map_fd: [36, "u32"],
  elem_flags: [40, "u64"], flags: [48, "u64"],
} as const);

export const PROG_LOAD = layout("BPF_PROG_LOAD", 144, {
  prog_type: [0, "u32"], insn_cnt: [4, "u32"], insns: [8, "ptr"], license: [16, "ptr"], log_level: [24, "u32"],
  log_size: [28, "u32"], log_buf: [32, "ptr"], kern_version: [40, "u32"], prog_flags: [44, "u32"], prog_name: [48, "name"],
  prog_ifindex: [64, "u32"], expected_attach_type: [68, "u32"], prog_btf_fd: [72, "u32"], attach_btf_id: [108, "u32"],
  attach_btf_obj_fd: [112, "u32"],
} as const);

export const PROG_TEST_RUN = layout("BPF_PROG_TEST_RUN", 80, {
  prog_fd: [0, "u32"], retval: [4, "u32"], data_size_in: [8, "u32"], data_size_out: [12, "u32"], data_in: [16, "ptr"],
  data_out: [24, "ptr"], repeat: [32, "u32"], duration: [36, "u32"], ctx_size_in: [40, "u32"], ctx_size_out: [44, "u32"],
  ctx_in: [48, "ptr"], ctx_out: [56, "ptr"], flags: [64, "u32"], cpu: [68, "u32"], batch_size: [72, "u32"],
} as const);

/** *_GET_NEXT_ID (start_id in, next_id out) and *_GET_FD_BY_ID (prog_id, map_id, link_id: the same word) */
export const GET_ID = layout("BPF_*_GET_{NEXT_ID,FD_BY_ID}", 12, {
  id: [0, "u32"], next_id: [4, "u32"], open_flags: [8, "u32"],
} as const);

/** OBJ_PIN, OBJ_GET */
export const OBJ = layout("BPF_OBJ_{PIN,GET}", 24, {
  pathname: [0, "ptr"], bpf_fd: [8, "u32"], file_flags: [12, "u32"], path_fd: [16, "u32"],
} as const);

export const OBJ_GET_INFO_BY_FD = layout("BPF_OBJ_GET_INFO_BY_FD", 16, {
  bpf_fd: [0, "u32"], info_len: [4, "u32"], info: [8, "ptr"],
} as const);

export const PROG_ATTACH = layout("BPF_PROG_{ATTACH,DETACH}", 24, {
  target_fd: [0, "u32"], attach_bpf_fd: [4, "u32"], attach_type: [8, "u32"], attach_flags: [12, "u32"], replace_bpf_fd: [16, "u32"],
} as const);

export const PROG_QUERY = layout("BPF_PROG_QUERY", 64, {
  target_fd: [0, "u32"], attach_type: [4, "u32"], query_flags: [8, "u32"], attach_flags: [12, "u32"], prog_ids: [16, "ptr"],
  prog_cnt: [24, "u32"], prog_attach_flags: [32, "ptr"], link_ids: [40, "ptr"], link_attach_flags: [48, "ptr"], revision: [56, "u64"],
} as const);

export const RAW_TRACEPOINT_OPEN = layout("BPF_RAW_TRACEPOINT_OPEN", 16, { name: [0, "ptr"], prog_fd: [8, "u32"] } as const);

/** LINK_CREATE with the perf_event / tracing tail (bpf_cookie, target_btf_id share offset 16) */
export const LINK_CREATE = layout("BPF_LINK_CREATE", 64, {
  prog_fd: [0, "u32"], target_fd: [4, "u32"], attach_type: [8, "u32"], flags: [12, "u32"], perf_event_bpf_cookie: [16, "u64"],
  tracing_target_btf_id: [16, "u32"], tracing_cookie: [24, "u64"],
} as const);

/** ENABLE_STATS: type 0 is BPF_STATS_RUN_TIME */
export const ENABLE_STATS = layout("BPF_ENABLE_STATS", 4, { type: [0, "u32"] } as const);

/** LINK_DETACH, MAP_FREEZE, ...: one fd */
export const FD_ONLY = layout("BPF_{LINK_DETACH,MAP_FREEZE}", 8, { fd: [0, "u32"] } as const);

// ---- info structs the kernel fills (OBJ_GET_INFO_BY_FD) ----------------------------------

export const MAP_INFO = layout("bpf_map_info", 88, {
  type: [0, "u32"], id: [4, "u32"], key_size: [8, "u32"], value_size: [12, "u32"], max_entries: [16, "u32"], map_flags: [20, "u32"],
  name: [24, "name"], ifindex: [40, "u32"], btf_vmlinux_value_type_id: [44, "u32"], netns_dev: [48, "u64"], netns_ino: [56, "u64"],
  btf_id: [64, "u32"], btf_key_type_id: [68, "u32"], btf_value_type_id: [72, "u32"], map_extra: [80, "u64"],
} as const);

export const PROG_INFO = layout("bpf_prog_info", 232, {
  type: [0, "u32"], id: [4, "u32"], tag: [8, "u64"], jited_prog_len: [16, "u32"], xlated_prog_len: [20, "u32"],
  jited_prog_insns: [24, "ptr"], xlated_prog_insns: [32, "ptr"], load_time: [40, "u64"], created_by_uid: [48, "u32"],
  nr_map_ids: [52, "u32"], map_ids: [56, "ptr"], name: [64, "name"], ifindex: [80, "u32"], btf_id: [128, "u32"],
  run_time_ns: [192, "u64"], run_cnt: [200, "u64"], recursion_misses: [208, "u64"], verified_insns: [216, "u32"],
} as const);

/** bpf_link_info with the raw_tracepoint member of its union */
export const LINK_INFO = layout("bpf_link_info", 96, {
  type: [0, "u32"], id: [4, "u32"], prog_id: [8, "u32"], raw_tracepoint_tp_name: [16, "ptr"], raw_tracepoint_tp_name_len: [24, "u32"],
} as const);
