// bpf_func_id values (include/uapi/linux/bpf.h ___BPF_FUNC_MAPPER order) for the helpers hookshim calls.
export const Helper = {
  MapLookupElem: 1, MapUpdateElem: 2, MapDeleteElem: 3, ProbeRead: 4, KtimeGetNs: 5, TracePrintk: 6,
  GetPrandomU32: 7, GetSmpProcessorId: 8, GetCurrentPidTgid: 14, GetCurrentUidGid: 15, GetCurrentComm: 16,
  PerfEventOutput: 25, GetCurrentTask: 35, ProbeReadStr: 45, GetCurrentCgroupId: 80, MapPushElem: 87,
  MapPopElem: 88, GetNsCurrentPidTgid: 120, ProbeReadUser: 112, ProbeReadKernel: 113, ProbeReadUserStr: 114,
  ProbeReadKernelStr: 115, KtimeGetBootNs: 125, RingbufOutput: 130, RingbufReserve: 131, RingbufSubmit: 132,
  RingbufDiscard: 133, GetCurrentTaskBtf: 158, TaskPtRegs: 175,
} as const;

const NAMES = Object.fromEntries(Object.entries(Helper).map(([k, v]) => [v, `Fn${k}`])) as Record<number, string>;

/** cilium/ebpf's BuiltinFunc.String(): FnMapLookupElem ... */
export function helperName(id: number): string {
  return NAMES[id] ?? `BuiltinFunc(${id})`;
}
