export * from "./constants.ts";
export { bpf, bpfTry } from "./syscall.ts";
export { BpfMap, mapInfoByFd, sanitizeName, type MapSpec, type MapInfo } from "./map.ts";
export {
  BpfProgram, enableRunStats, progFdById, progInfoByFd, progXlated, programIds, mapIds, linkIds,
  type ProgramSpec, type ProgramInfo,
} from "./prog.ts";
export { objPin, objGet, ensureBpffs, isBpffs, DEFAULT_BPFFS } from "./pin.ts";
export { progAttach, progDetach, progQuery, BpfLink, LinkType, rawTracepointOpen, linkCreate, type QueryResult } from "./attach.ts";
export { VerifierError } from "./verifier.ts";
export * from "./codec.ts";
