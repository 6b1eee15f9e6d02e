// BPF programs: load (with the verifier log retried into a growing buffer), pin, open, inspect, test-run.
import { close as closeFd, Struct, cString, cStringBytes, raiseMemlock } from "../sys/index.ts";
import { Cmd, OBJ_NAME_LEN } from "./constants.ts";
import { bpf, bpfTry } from "./syscall.ts";
import { objGet, objPin } from "./pin.ts";
import { sanitizeName } from "./map.ts";
import { VerifierError } from "./verifier.ts";
import { Errno, SyscallError } from "../sys/index.ts";

export interface ProgramSpec {
  type: number;
  /** raw instructions, 8 bytes each (lib/bpf/asm assemble()) */
  instructions: Uint8Array;
  license?: string;
  name?: string;
  expectedAttachType?: number;
  attachBtfId?: number;
  /** verifier log level for the first attempt; 0 loads fast and only asks for a log on failure */
  logLevel?: number;
  flags?: number;
}

export interface ProgramInfo {
  type: number;
  id: number;
  tag: string;
  jitedLen: number;
  xlatedLen: number;
  loadTime: bigint;
  mapIds: number[];
  name: string;
  btfId: number;
  runTimeNs: bigint;
  runCount: bigint;
  verifiedInsns: number;
}

const MIN_LOG = 64 * 1024;
const MAX_LOG = 16 * 1024 * 1024 - 1; // kernel caps log_size at UINT_MAX >> 8

let memlockRaised = false;

export class BpfProgram {
  readonly fd: number;
  readonly type: number;
  readonly name: string;

  private constructor(fd: number, type: number, name: string) {
    this.fd = fd;
    this.type = type;
    this.name = name;
  }

  static load(spec: ProgramSpec): BpfProgram {
    if (!memlockRaised) {
      raiseMemlock();
      memlockRaised = true;
    }
    if (spec.instructions.byteLength % 8 !== 0 || spec.instructions.byteLength === 0)
      throw new RangeError(`program ${spec.name ?? ""}: instructions must be a non-empty multiple of 8 bytes`);
    const label = spec.name ?? "(unnamed)";
    const license = cStringBytes(spec.license ?? "GPL");
    let logSize = spec.logLevel ? MIN_LOG : 0;
    for (;;) {
      const log = logSize ? new Uint8Array(logSize) : null;
      const attr = new Struct(144)
        .u32(0, spec.type)
        .u32(4, spec.instructions.byteLength / 8)
        .pointer(8, spec.instructions)
        .pointer(16, license)
        .u32(24, log ? spec.logLevel || 1 : 0)
        .u32(28, logSize)
        .pointer(32, log)
        .u32(44, spec.flags ?? 0)
        .u32(68, spec.expectedAttachType ?? 0)
        .u32(108, spec.attachBtfId ?? 0);
      if (spec.name) attr.cstr(48, sanitizeName(spec.name), OBJ_NAME_LEN);
      // The verifier's answers: EACCES/EINVAL (rejected: the log says why), ENOSPC (log too small),
      // EAGAIN (a signal arrived while it ran; libbpf retries). Anything else (EPERM: no CAP_BPF) throws.
      const load = () => bpfTry(Cmd.PROG_LOAD, attr, `program ${label}`, "EACCES", "EINVAL", "ENOSPC", "EAGAIN", "E2BIG", "EFAULT");
      let fd = load();
      for (let i = 0; fd === "EAGAIN" && i < 5; i++) fd = load();
      if (typeof fd === "number") return new BpfProgram(fd, spec.type, spec.name ?? "");
      const err = Errno[fd];
      if (!log) {
        // Retry with a log so the error can say why.
        logSize = MIN_LOG;
        continue;
      }
      const truncated = fd === "ENOSPC";
      if (truncated && logSize < MAX_LOG) {
        logSize = Math.min(logSize * 4, MAX_LOG);
        continue;
      }
      const text = cString(log);
      if (!text) throw new SyscallError("bpf", err, `BPF_PROG_LOAD, program ${label}`);
      throw new VerifierError(label, err, text, truncated);
    }
  }

  static fromFd(fd: number): BpfProgram {
    const info = progInfoByFd(fd);
    return new BpfProgram(fd, info.type, info.name);
  }

  static fromPin(path: string, flags = 0): BpfProgram {
    return BpfProgram.fromFd(objGet(path, flags));
  }

  static fromId(id: number): BpfProgram {
    return BpfProgram.fromFd(progFdById(id));
  }

  pin(path: string): void {
    objPin(this.fd, path);
  }

  info(): ProgramInfo {
    return progInfoByFd(this.fd);
  }

  /** The instructions as the kernel holds them after verification (BPF_OBJ_GET_INFO_BY_FD xlated). */
  xlated(): Uint8Array {
    return progXlated(this.fd);
  }

  /** BPF_PROG_TEST_RUN for program types that support it (socket filter, raw tracepoint, XDP, ...). */
  testRun(opts: { data?: Uint8Array; ctx?: Uint8Array; repeat?: number; dataOutSize?: number } = {}): {
    retval: number;
    durationNs: number;
    dataOut?: Uint8Array;
  } {
    const dataOut = opts.dataOutSize ? new Uint8Array(opts.dataOutSize) : null;
    const attr = new Struct(80)
      .u32(0, this.fd)
      .u32(8, opts.data?.byteLength ?? 0)
      .u32(12, dataOut?.byteLength ?? 0)
      .pointer(16, opts.data)
      .pointer(24, dataOut)
      .u32(32, opts.repeat ?? 0)
      .u32(40, opts.ctx?.byteLength ?? 0)
      .pointer(48, opts.ctx);
    bpf(Cmd.PROG_TEST_RUN, attr, `program ${this.name}`);
    const outLen = attr.getU32(12);
    return { retval: attr.getU32(4), durationNs: attr.getU32(36), dataOut: dataOut?.subarray(0, outLen) };
  }

  close(): void {
    closeFd(this.fd);
  }
}

export function progFdById(id: number): number {
  return bpf(Cmd.PROG_GET_FD_BY_ID, new Struct(12).u32(0, id), `program id ${id}`);
}

export function progInfoByFd(fd: number): ProgramInfo {
  // First pass learns nr_map_ids; second fetches them.
  const first = rawProgInfo(fd);
  const nrMaps = first.getU32(52);
  let mapIds: number[] = [];
  if (nrMaps) {
    const ids = new Uint32Array(nrMaps);
    const info = new Struct(232);
    info.u32(52, nrMaps).pointer(56, new Uint8Array(ids.buffer));
    const attr = new Struct(16).u32(0, fd).u32(4, info.size).pointer(8, info.bytes);
    bpf(Cmd.OBJ_GET_INFO_BY_FD, attr, `program fd ${fd}`);
    mapIds = Array.from(ids.subarray(0, Math.min(nrMaps, info.getU32(52))));
  }
  const tag = Array.from(first.bytes.subarray(8, 16), (b) => b.toString(16).padStart(2, "0")).join("");
  return {
    type: first.getU32(0),
    id: first.getU32(4),
    tag,
    jitedLen: first.getU32(16),
    xlatedLen: first.getU32(20),
    loadTime: first.getU64(40),
    mapIds,
    name: cString(first.bytes, 64, OBJ_NAME_LEN),
    btfId: first.getU32(128),
    runTimeNs: first.getU64(192),
    runCount: first.getU64(200),
    verifiedInsns: first.getU32(216),
  };
}

function rawProgInfo(fd: number, fill?: (info: Struct) => void): Struct {
  const info = new Struct(232);
  fill?.(info);
  const attr = new Struct(16).u32(0, fd).u32(4, info.size).pointer(8, info.bytes);
  bpf(Cmd.OBJ_GET_INFO_BY_FD, attr, `program fd ${fd}`);
  return info;
}

export function progXlated(fd: number): Uint8Array {
  const len = rawProgInfo(fd).getU32(20);
  const insns = new Uint8Array(len);
  rawProgInfo(fd, (info) => info.u32(20, len).pointer(32, insns));
  return insns;
}

/** Ids of every loaded program (BPF_PROG_GET_NEXT_ID). */
export function* programIds(): Generator<number> {
  yield* nextIds(Cmd.PROG_GET_NEXT_ID);
}
export function* mapIds(): Generator<number> {
  yield* nextIds(Cmd.MAP_GET_NEXT_ID);
}
export function* linkIds(): Generator<number> {
  yield* nextIds(Cmd.LINK_GET_NEXT_ID);
}

function* nextIds(cmd: number): Generator<number> {
  let id = 0;
  for (;;) {
    const attr = new Struct(12).u32(0, id);
    if (bpfTry(cmd, attr, undefined, "ENOENT") === "ENOENT") return;
    id = attr.getU32(4);
    yield id;
  }
}
