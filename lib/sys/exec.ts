// execve(2): replace this process with another program, keeping pid, stdio and every fd that is not
// close-on-exec — what a runtime shim must do so its caller's pid files, console sockets and
// --preserve-fds keep working.
import { libc, errno } from "./libc.ts";
import { SyscallError } from "./error.ts";
import { addressOf, cStringBytes } from "./struct.ts";

function pointerArray(strings: string[]): { table: BigUint64Array; keep: Uint8Array[] } {
  const keep = strings.map(cStringBytes);
  const table = new BigUint64Array(keep.length + 1); // NULL-terminated
  keep.forEach((b, i) => (table[i] = addressOf(b)));
  return { table, keep };
}

// Bun ignores SIGPIPE (13) and SIGXFSZ (25). An ignored disposition survives execve, so without a
// reset the new program (and whatever it starts) would begin with them ignored, unlike under its
// real caller.
const BUN_IGNORED_SIGNALS = [13, 25];

/** Never returns on success. `env` is the complete environment of the new program. */
export function execve(path: string, argv: string[], env: Record<string, string | undefined>): never {
  const a = pointerArray(argv);
  const e = pointerArray(Object.entries(env).flatMap(([k, v]) => (v === undefined ? [] : [`${k}=${v}`])));
  for (const sig of BUN_IGNORED_SIGNALS) libc.signal(sig, null); // SIG_DFL
  libc.execve(Buffer.from(path + "\0"), a.table, e.table);
  const err = errno();
  for (const sig of BUN_IGNORED_SIGNALS) libc.signal(sig, 1 as never); // SIG_IGN again: Bun goes on
  // keep the string buffers referenced across the call
  void a.keep.length;
  void e.keep.length;
  throw new SyscallError("execve", err, path);
}
