import { errnoDescription, errnoName } from "./errno.ts";

/** A failed syscall: which call, with what (short, human) arguments, and the errno. */
export class SyscallError extends Error {
  readonly syscall: string;
  readonly errno: number;
  readonly code: string;
  readonly call: string;
  constructor(syscall: string, errno: number, call?: string) {
    const code = errnoName(errno);
    const what = call ? `${syscall}(${call})` : syscall;
    super(`${what}: ${code} (${errnoDescription(errno)})`);
    this.name = "SyscallError";
    this.syscall = syscall;
    this.errno = errno;
    this.code = code;
    this.call = call ?? "";
  }
  is(code: string): boolean {
    return this.code === code;
  }
}

export function isErrno(e: unknown, ...codes: string[]): e is SyscallError {
  return e instanceof SyscallError && codes.includes(e.code);
}
