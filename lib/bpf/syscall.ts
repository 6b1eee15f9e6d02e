// bpf(2) itself. Every command builds a Struct sized to its own part of `union bpf_attr` (zeroed tail),
// so the kernel sees exactly the fields we mean.
//
// One convention for failures: an errno the caller does not name throws a SyscallError naming the
// command (and `what` it was about); the errnos a caller expects as answers (ENOENT at the end of an
// iteration, ENOSPC asking for a larger buffer) come back by name, never as numbers.
import { addressOf, errno, errnoName, syscall6, SYS, SyscallError, Struct, type ErrnoName } from "../sys/index.ts";
import { CMD_NAMES } from "./constants.ts";

/** The result (>= 0), or the name of an `expected` errno; any other failure throws. */
export function bpfTry<E extends ErrnoName>(cmd: number, attr: Struct, what: string | undefined, ...expected: E[]): number | E {
  const r = syscall6(SYS.bpf, cmd, addressOf(attr.bytes), attr.size, 0, 0, 0);
  if (r >= 0) return r;
  return expectedOrThrow(cmd, errno(), what, expected);
}

/** The name of an expected errno, or a thrown SyscallError for `cmd`. */
export function expectedOrThrow<E extends ErrnoName>(cmd: number, err: number, what: string | undefined, expected: readonly E[]): E {
  const name = errnoName(err) as E;
  if (expected.includes(name)) return name;
  throw new SyscallError("bpf", err, what ? `${CMD_NAMES[cmd]}, ${what}` : CMD_NAMES[cmd]);
}

/** Throwing call: a SyscallError names the command and `what` (map, program or path it was about). */
export function bpf(cmd: number, attr: Struct, what?: string): number {
  return bpfTry(cmd, attr, what) as number;
}
