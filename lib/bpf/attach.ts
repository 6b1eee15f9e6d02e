// Attaching programs to cgroups (BPF_PROG_ATTACH/DETACH/QUERY) and the attach points that return links.
import { Struct, cStringBytes, close as closeFd, cString, Errno, SyscallError } from "../sys/index.ts";
import { Cmd, AttachFlag } from "./constants.ts";
import { bpf, bpfTry } from "./syscall.ts";
import { objGet, objPin } from "./pin.ts";

export interface CgroupAttach {
  /** fd of the cgroup directory (open with O_RDONLY|O_DIRECTORY) */
  targetFd: number;
  progFd: number;
  attachType: number;
  /** AttachFlag.ALLOW_MULTI, ALLOW_OVERRIDE, REPLACE */
  flags?: number;
  /** with AttachFlag.REPLACE: the program to replace atomically */
  replaceFd?: number;
}

export function progAttach(a: CgroupAttach): void {
  const attr = new Struct(24)
    .u32(0, a.targetFd)
    .u32(4, a.progFd)
    .u32(8, a.attachType)
    .u32(12, a.flags ?? 0)
    .u32(16, a.replaceFd ?? 0);
  bpf(Cmd.PROG_ATTACH, attr, `attach type ${a.attachType}`);
}

export function progDetach(a: { targetFd: number; progFd: number; attachType: number }): void {
  const attr = new Struct(24).u32(0, a.targetFd).u32(4, a.progFd).u32(8, a.attachType);
  bpf(Cmd.PROG_DETACH, attr, `attach type ${a.attachType}`);
}

export interface QueryResult {
  attachFlags: number;
  progIds: number[];
  revision: bigint;
}

/** Programs attached directly to the cgroup for one attach type (not the effective, inherited set). */
export function progQuery(targetFd: number, attachType: number, effective = false): QueryResult {
  let cap = 64;
  for (;;) {
    const ids = new Uint32Array(cap);
    const attr = new Struct(64)
      .u32(0, targetFd)
      .u32(4, attachType)
      .u32(8, effective ? 1 : 0) // BPF_F_QUERY_EFFECTIVE
      .pointer(16, new Uint8Array(ids.buffer))
      .u32(24, cap);
    const r = bpfTry(Cmd.PROG_QUERY, attr, `attach type ${attachType}`, "ENOSPC");
    const count = attr.getU32(24);
    if (r === "ENOSPC") {
      // more programs than ids: the kernel said how many
      if (count <= cap) throw new SyscallError("bpf", Errno.ENOSPC, `BPF_PROG_QUERY, attach type ${attachType}`);
      cap = count;
      continue;
    }
    return { attachFlags: attr.getU32(12), progIds: Array.from(ids.subarray(0, count)), revision: attr.getU64(56) };
  }
}

export interface LinkInfo {
  type: number;
  id: number;
  progId: number;
  /** raw tracepoint name, for raw tracepoint links */
  tpName?: string;
}

/** A bpf_link: detaches its program when the last fd and pin are gone. */
export class BpfLink {
  constructor(readonly fd: number) {}

  static fromPin(path: string): BpfLink {
    return new BpfLink(objGet(path));
  }

  static fromId(id: number): BpfLink {
    return new BpfLink(bpf(Cmd.LINK_GET_FD_BY_ID, new Struct(12).u32(0, id), `link id ${id}`));
  }

  pin(path: string): void {
    objPin(this.fd, path);
  }

  info(): LinkInfo {
    const name = new Uint8Array(128);
    const info = new Struct(96).pointer(16, name).u32(24, name.byteLength);
    const attr = new Struct(16).u32(0, this.fd).u32(4, info.size).pointer(8, info.bytes);
    bpf(Cmd.OBJ_GET_INFO_BY_FD, attr, `link fd ${this.fd}`);
    const type = info.getU32(0);
    return {
      type,
      id: info.getU32(4),
      progId: info.getU32(8),
      tpName: type === LinkType.RAW_TRACEPOINT ? cString(name) : undefined,
    };
  }

  /** BPF_LINK_DETACH: the link stays but the program is detached (pins become defunct). */
  detach(): void {
    bpf(Cmd.LINK_DETACH, new Struct(8).u32(0, this.fd), `link fd ${this.fd}`);
  }

  close(): void {
    closeFd(this.fd);
  }
}

export const LinkType = { RAW_TRACEPOINT: 1, TRACING: 2, CGROUP: 3, ITER: 4, NETNS: 5, XDP: 6, PERF_EVENT: 7 } as const;

/** BPF_RAW_TRACEPOINT_OPEN: attach a raw tracepoint program (or tp_btf with name null). */
export function rawTracepointOpen(name: string | null, progFd: number): BpfLink {
  const attr = new Struct(16).pointer(0, name === null ? null : cStringBytes(name)).u32(8, progFd);
  return new BpfLink(bpf(Cmd.RAW_TRACEPOINT_OPEN, attr, `raw tracepoint ${name}`));
}

/** BPF_LINK_CREATE (cgroup, perf_event, tracing...): `extra` fills the attach-type specific tail at offset 16. */
export function linkCreate(
  progFd: number,
  targetFd: number,
  attachType: number,
  flags = 0,
  extra?: (attr: Struct) => void,
): BpfLink {
  const attr = new Struct(64).u32(0, progFd).u32(4, targetFd).u32(8, attachType).u32(12, flags);
  extra?.(attr);
  return new BpfLink(bpf(Cmd.LINK_CREATE, attr, `attach type ${attachType}`));
}

export { AttachFlag };
