export { libc, errno, syscall6, SYS } from "./libc.ts";
export { SyscallError, isErrno } from "./error.ts";
export { ERRNO_NAMES, Errno, errnoName, errnoDescription } from "./errno.ts";
export { Struct, cString, cStringBytes, addressOf } from "./struct.ts";
export * from "./io.ts";
export * from "./fs.ts";
export * from "./inotify.ts";
export * from "./fanotify.ts";
export * from "./proc.ts";
