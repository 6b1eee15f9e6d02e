// Attaching programs to cgroups (BPF_PROG_ATTACH/DETACH/QUERY) and the attach points that return links.
import { cStringBytes, close as closeFd, cString, Errno, SyscallError } from "../sys/index.ts";
import { Attr, FD_ONLY, GET_ID, LINK_CREATE, LINK_INFO, OBJ_GET_INFO_BY_FD, PROG_ATTACH, PROG_QUERY, RAW_TRACEPOINT_OPEN } from "./attr.ts";
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
  const attr = new Attr(PROG_ATTACH, {
    target_fd: a.targetFd, attach_bpf_fd: a.progFd, attach_type: a.attachType, attach_flags: a.flags, replace_bpf_fd: a.replaceFd,
  });
  bpf(Cmd.PROG_ATTACH, attr, `attach type ${a.attachType}`);
}

export function progDetach(a: { targetFd: number; progFd: number; attachType: number }): void {
  const attr = new Attr(PROG_ATTACH, { target_fd: a.targetFd, attach_bpf_fd: a.progFd, attach_type: a.attachType });
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
    const attr = new Attr(PROG_QUERY, {
      target_fd: targetFd, attach_type: attachType, query_flags: effective ? 1 : 0 /* BPF_F_QUERY_EFFECTIVE */,
      prog_ids: new Uint8Array(ids.buffer), prog_cnt: cap,
    });
    const r = bpfTry(Cmd.PROG_QUERY, attr, `attach type ${attachType}`, "ENOSPC");
    const count = attr.get("prog_cnt");
    if (r === "ENOSPC") {
      // more programs than ids: the kernel said how many
      if (count <= cap) throw new SyscallError("bpf", Errno.ENOSPC, `BPF_PROG_QUERY, attach type ${attachType}`);
      cap = count;
      continue;
    }
    return { attachFlags: attr.get("attach_flags"), progIds: Array.from(ids.subarray(0, count)), revision: attr.get("revision") };
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
    return new BpfLink(bpf(Cmd.LINK_GET_FD_BY_ID, new Attr(GET_ID, { id }), `link id ${id}`));
  }

  pin(path: string): void {
    objPin(this.fd, path);
  }

  info(): LinkInfo {
    const name = new Uint8Array(128);
    const info = new Attr(LINK_INFO, { raw_tracepoint_tp_name: name, raw_tracepoint_tp_name_len: name.byteLength });
    bpf(Cmd.OBJ_GET_INFO_BY_FD, new Attr(OBJ_GET_INFO_BY_FD, { bpf_fd: this.fd, info_len: info.size, info: info.bytes }), `link fd ${this.fd}`);
    const type = info.get("type");
    return {
      type,
      id: info.get("id"),
      progId: info.get("prog_id"),
      tpName: type === LinkType.RAW_TRACEPOINT ? cString(name) : undefined,
    };
  }

  /** BPF_LINK_DETACH: the link stays but the program is detached (pins become defunct). */
  detach(): void {
    bpf(Cmd.LINK_DETACH, new Attr(FD_ONLY, { fd: this.fd }), `link fd ${this.fd}`);
  }

  close(): void {
    closeFd(this.fd);
  }
}

export const LinkType = { RAW_TRACEPOINT: 1, TRACING: 2, CGROUP: 3, ITER: 4, NETNS: 5, XDP: 6, PERF_EVENT: 7 } as const;

/** BPF_RAW_TRACEPOINT_OPEN: attach a raw tracepoint program (or tp_btf with name null). */
export function rawTracepointOpen(name: string | null, progFd: number): BpfLink {
  const attr = new Attr(RAW_TRACEPOINT_OPEN, { name: name === null ? null : cStringBytes(name), prog_fd: progFd });
  return new BpfLink(bpf(Cmd.RAW_TRACEPOINT_OPEN, attr, `raw tracepoint ${name}`));
}

/** BPF_LINK_CREATE (cgroup, perf_event, tracing...): `extra` sets the attach-type specific tail fields. */
export function linkCreate(
  progFd: number,
  targetFd: number,
  attachType: number,
  flags = 0,
  extra?: (attr: Attr<typeof LINK_CREATE.fields>) => void,
): BpfLink {
  const attr = new Attr(LINK_CREATE, { prog_fd: progFd, target_fd: targetFd, attach_type: attachType, flags });
  extra?.(attr);
  return new BpfLink(bpf(Cmd.LINK_CREATE, attr, `attach type ${attachType}`));
}

export { AttachFlag };
