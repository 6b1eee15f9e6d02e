// Tracepoint programs through perf events: perf_event_open(PERF_TYPE_TRACEPOINT), then BPF_LINK_CREATE
// with BPF_PERF_EVENT. The link holds the perf event; closing both detaches.
//
// One perf event is enough, as libbpf does it: the program joins the tracepoint's own program array,
// which runs on every CPU once it is non-empty. Attaching the same program through a second event
// (another CPU) fails with EEXIST, because the array already holds it.
import { onlineCpus } from "./cpus.ts";
import { Struct, syscall6, errno, SYS, SyscallError, close as closeFd, addressOf } from "../sys/index.ts";
import { AttachType } from "./constants.ts";
import { linkCreate, type BpfLink } from "./attach.ts";

const PERF_TYPE_TRACEPOINT = 2;
const PERF_ATTR_SIZE = 128; // PERF_ATTR_SIZE_VER8
const PERF_FLAG_FD_CLOEXEC = 8;

export { parseCpuList, onlineCpus } from "./cpus.ts";

export function perfEventOpenTracepoint(tracepointId: number, cpu: number): number {
  const attr = new Struct(PERF_ATTR_SIZE)
    .u32(0, PERF_TYPE_TRACEPOINT)
    .u32(4, PERF_ATTR_SIZE)
    .u64(8, tracepointId) // config
    .u64(16, 1) // sample_period
    .u32(48, 1); // wakeup_events
  const fd = syscall6(SYS.perf_event_open, addressOf(attr.bytes), -1, cpu, -1, PERF_FLAG_FD_CLOEXEC, 0);
  const err = fd < 0 ? errno() : 0;
  keepAlive(attr); // the kernel read attr.bytes through a raw address
  if (fd < 0) throw new SyscallError("perf_event_open", err, `tracepoint id ${tracepointId} cpu ${cpu}`);
  return fd;
}

function keepAlive(_: unknown): void {}

/** A tracepoint program attached for every CPU; close() detaches it. */
export class TracepointAttachment {
  private constructor(
    private perfFd: number,
    private link?: BpfLink,
  ) {}

  static attach(progFd: number, tracepointId: number): TracepointAttachment {
    const perfFd = perfEventOpenTracepoint(tracepointId, onlineCpus()[0] ?? 0);
    try {
      return new TracepointAttachment(perfFd, linkCreate(progFd, perfFd, AttachType.PERF_EVENT));
    } catch (e) {
      closeFd(perfFd);
      throw e;
    }
  }

  close(): void {
    this.link?.close();
    this.link = undefined;
    if (this.perfFd >= 0) closeFd(this.perfFd);
    this.perfFd = -1;
  }
}
