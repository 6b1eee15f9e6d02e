// bpf(2) itself. Every command builds a Struct sized to its own part of `union bpf_attr` (zeroed tail),
// so the kernel sees exactly the fields we mean.
import { libc, errno, SYS, SyscallError, Struct } from "../sys/index.ts";
import { CMD_NAMES } from "./constants.ts";

/** Raw call: returns the result, or -errno. The attr buffer is referenced by `attr` until return. */
export function bpfRaw(cmd: number, attr: Struct): number {
  const r = libc.syscall(SYS.bpf, cmd, attr.bytes, attr.size);
  return r < 0 ? -errno() : r;
}

/** Throwing call: a SyscallError names the command and `what` (map, program or path it was about). */
export function bpf(cmd: number, attr: Struct, what?: string): number {
  const r = libc.syscall(SYS.bpf, cmd, attr.bytes, attr.size);
  if (r < 0) throw new SyscallError("bpf", errno(), what ? `${CMD_NAMES[cmd]}, ${what}` : CMD_NAMES[cmd]);
  return r;
}
