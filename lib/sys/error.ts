import { errnoDescription, errnoName, type ErrnoName } from "./errno.ts";

/** A failed syscall: which call, with what (short, human) arguments, and the errno. */
export class SyscallError extends Error {
  readonly syscall: string;
  readonly errno: number;
  readonly code: string;
  readonly call: string;
  /** `message` replaces the default "syscall(call): ENAME (description)" (VerifierError's log tail). */
  constructor(syscall: string, errno: number, call?: string, message?: string) {
    const code = errnoName(errno);
    const what = call ? `${syscall}(${call})` : syscall;
    super(message ?? `${what}: ${code} (${errnoDescription(errno)})`);
    this.name = "SyscallError";
    this.syscall = syscall;
    this.errno = errno;
    this.code = code;
    this.call = call ?? "";
  }
  is(code: ErrnoName): boolean {
    return this.code === code;
  }
}

/** A SyscallError (a VerifierError included) whose errno is one of `codes`. */
export function isErrno(e: unknown, ...codes: ErrnoName[]): e is SyscallError {
  return e instanceof SyscallError && (codes as readonly string[]).includes(e.code);
}
