// execve(2): replace this process with another program, keeping pid, stdio and every fd that is not
// close-on-exec — what a runtime shim must do so its caller's pid files, console sockets and
// --preserve-fds keep working.
import { libc, errno, syscall6, SYS } from "./libc.ts";
import { SyscallError } from "./error.ts";
import { readFile } from "./file.ts";
import { addressOf, cStringBytes } from "./struct.ts";

/**
 * An environment as execve takes it: "NAME=value" entries, each ending in a NUL byte. The shim
 * hands one on without ever decoding it (see startingEnvironment).
 */
export type EnvironmentBlock = Uint8Array;

/** An environment for exec: variables by name, or a block passed on byte for byte. */
export type Environment = Record<string, string | undefined> | EnvironmentBlock;

/**
 * A NULL-terminated char *[] for `strings`: all of them NUL-terminated in one buffer, so one address
 * lookup serves every entry (the shim's pass-through path builds one per exec, environment included).
 */
function pointerArray(strings: string[]): { table: BigUint64Array; keep: Uint8Array[] } {
  // a C string ends at its first NUL: one inside an argument or variable would misplace every later entry
  const withNul = strings.find((s) => s.includes("\0"));
  if (withNul !== undefined) throw new Error(`execve: ${JSON.stringify(withNul.slice(0, 40))} contains a NUL byte`);
  const encoded = cStringBytes(strings.join("\0"));
  const base = addressOf(encoded);
  const table = new BigUint64Array(strings.length + 1); // NULL-terminated
  let at = 0;
  for (let i = 0; i < strings.length; i++) {
    table[i] = base + BigInt(at);
    at = encoded.indexOf(0, at) + 1;
  }
  return { table, keep: [encoded] };
}

// Bun ignores SIGPIPE (13) and SIGXFSZ (25). An ignored disposition survives execve, so without a
// reset the new program (and whatever it starts) would begin with them ignored, unlike under its
// real caller.
const BUN_IGNORED_SIGNALS = [13, 25];

/** The NULL-terminated table of a block's entries: pointers into the block itself, nothing copied. */
function blockPointers(block: EnvironmentBlock): { table: BigUint64Array; keep: Uint8Array[] } {
  let count = 0;
  for (let at = 0; at < block.length; at = block.indexOf(0, at) + 1) count++;
  const base = addressOf(block);
  const table = new BigUint64Array(count + 1);
  for (let i = 0, at = 0; i < count; i++, at = block.indexOf(0, at) + 1) table[i] = base + BigInt(at);
  return { table, keep: [block] };
}

function environ(env: Environment) {
  if (env instanceof Uint8Array) {
    if (env.length > 0 && env[env.length - 1] !== 0) throw new Error("execve: an environment block must end in a NUL byte");
    return blockPointers(env);
  }
  return pointerArray(Object.entries(env).flatMap(([k, v]) => (v === undefined ? [] : [`${k}=${v}`])));
}

/**
 * The environment this process was started with, as the kernel keeps it (/proc/self/environ):
 * a block, read in one go, with no string made of it. Undefined when /proc cannot be read.
 */
export function startingEnvironment(): EnvironmentBlock | undefined {
  try {
    return readFile("/proc/self/environ");
  } catch {
    return undefined;
  }
}

/** Runs `exec` with Bun's ignored signals back at their defaults; restores them when it returns. */
function withDefaultSignals(exec: () => number): number {
  for (const sig of BUN_IGNORED_SIGNALS) libc.signal(sig, null); // SIG_DFL
  exec();
  const err = errno();
  for (const sig of BUN_IGNORED_SIGNALS) libc.signal(sig, 1 as never); // SIG_IGN again: Bun goes on
  return err;
}

/** Never returns on success. `env` is the complete environment of the new program. */
export function execve(path: string, argv: string[], env: Environment): never {
  const a = pointerArray(argv);
  const e = environ(env);
  const err = withDefaultSignals(() => libc.execve(cStringBytes(path), a.table, e.table));
  // keep the string buffers referenced across the call
  void a.keep.length;
  void e.keep.length;
  throw new SyscallError("execve", err, path);
}

export const AT_EMPTY_PATH = 0x1000;

/**
 * execveat(fd, "", argv, env, AT_EMPTY_PATH): runs the very file `fd` was opened on (O_PATH is
 * enough), so what was checked through the fd is what runs, whatever happens to its path meanwhile.
 * Never returns on success. `what` names the file in the error.
 */
export function execveatFd(fd: number, argv: string[], env: Environment, what: string): never {
  const a = pointerArray(argv);
  const e = environ(env);
  const empty = new Uint8Array(1);
  const err = withDefaultSignals(() =>
    syscall6(SYS.execveat, fd, addressOf(empty), addressOf(a.table), addressOf(e.table), AT_EMPTY_PATH, 0),
  );
  void a.keep.length;
  void e.keep.length;
  void empty.length;
  throw new SyscallError("execveat", err, what);
}
