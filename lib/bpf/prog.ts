// BPF programs: load (with the verifier log retried into a growing buffer), pin, open, inspect, test-run.
import { close as closeFd, cString, cStringBytes, raiseMemlock } from "../sys/index.ts";
import { Cmd } from "./constants.ts";
import { Attr, ENABLE_STATS, GET_ID, OBJ_GET_INFO_BY_FD, PROG_INFO, PROG_LOAD, PROG_TEST_RUN } from "./attr.ts";
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
      const attr = new Attr(PROG_LOAD, {
        prog_type: spec.type, insn_cnt: spec.instructions.byteLength / 8, insns: spec.instructions, license,
        log_level: log ? spec.logLevel || 1 : 0, log_size: logSize, log_buf: log, prog_flags: spec.flags,
        expected_attach_type: spec.expectedAttachType, attach_btf_id: spec.attachBtfId, prog_name: spec.name && sanitizeName(spec.name),
      });
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
    const attr = new Attr(PROG_TEST_RUN, {
      prog_fd: this.fd, data_size_in: opts.data?.byteLength, data_size_out: dataOut?.byteLength, data_in: opts.data, data_out: dataOut,
      repeat: opts.repeat, ctx_size_in: opts.ctx?.byteLength, ctx_in: opts.ctx,
    });
    bpf(Cmd.PROG_TEST_RUN, attr, `program ${this.name}`);
    const outLen = attr.get("data_size_out");
    return { retval: attr.get("retval"), durationNs: attr.get("duration"), dataOut: dataOut?.subarray(0, outLen) };
  }

  close(): void {
    closeFd(this.fd);
  }
}

/**
 * Makes the kernel count every program's run time (ProgramInfo runTimeNs, runCount) until the
 * returned fd is closed (BPF_ENABLE_STATS; unlike the kernel.bpf_stats_enabled sysctl, it cannot be
 * left on by a process that dies). Counting costs every program two clock reads per run.
 */
export function enableRunStats(): number {
  return bpf(Cmd.ENABLE_STATS, new Attr(ENABLE_STATS, { type: 0 }), "run time stats");
}

export function progFdById(id: number): number {
  return bpf(Cmd.PROG_GET_FD_BY_ID, new Attr(GET_ID, { id }), `program id ${id}`);
}

export function progInfoByFd(fd: number): ProgramInfo {
  // First pass learns nr_map_ids; second fetches them.
  const first = rawProgInfo(fd);
  const nrMaps = first.get("nr_map_ids");
  let mapIds: number[] = [];
  if (nrMaps) {
    const ids = new Uint32Array(nrMaps);
    const info = rawProgInfo(fd, (i) => i.set("nr_map_ids", nrMaps).set("map_ids", new Uint8Array(ids.buffer)));
    mapIds = Array.from(ids.subarray(0, Math.min(nrMaps, info.get("nr_map_ids"))));
  }
  const tagAt = Attr.offset(PROG_INFO, "tag");
  const tag = Array.from(first.bytes.subarray(tagAt, tagAt + 8), (b) => b.toString(16).padStart(2, "0")).join("");
  return {
    type: first.get("type"),
    id: first.get("id"),
    tag,
    jitedLen: first.get("jited_prog_len"),
    xlatedLen: first.get("xlated_prog_len"),
    loadTime: first.get("load_time"),
    mapIds,
    name: first.get("name"),
    btfId: first.get("btf_id"),
    runTimeNs: first.get("run_time_ns"),
    runCount: first.get("run_cnt"),
    verifiedInsns: first.get("verified_insns"),
  };
}

function rawProgInfo(fd: number, fill?: (info: Attr<typeof PROG_INFO.fields>) => void): Attr<typeof PROG_INFO.fields> {
  const info = new Attr(PROG_INFO);
  fill?.(info);
  bpf(Cmd.OBJ_GET_INFO_BY_FD, new Attr(OBJ_GET_INFO_BY_FD, { bpf_fd: fd, info_len: info.size, info: info.bytes }), `program fd ${fd}`);
  return info;
}

export function progXlated(fd: number): Uint8Array {
  const len = rawProgInfo(fd).get("xlated_prog_len");
  const insns = new Uint8Array(len);
  rawProgInfo(fd, (info) => info.set("xlated_prog_len", len).set("xlated_prog_insns", insns));
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
    const attr = new Attr(GET_ID, { id });
    if (bpfTry(cmd, attr, undefined, "ENOENT") === "ENOENT") return;
    id = attr.get("next_id");
    yield id;
  }
}
