// execve(2): replace this process with another program, keeping pid, stdio and every fd that is not
// close-on-exec — what a runtime shim must do so its caller's pid files, console sockets and
// --preserve-fds keep working.
import { libc, errno } from "./libc.ts";
import { SyscallError } from "./error.ts";
import { addressOf } from "./struct.ts";

/**
 * A NULL-terminated char *[] for `strings`: all of them NUL-terminated in one buffer, so one address
 * lookup serves every entry (the shim's pass-through path builds one per exec, environment included).
 */
function pointerArray(strings: string[]): { table: BigUint64Array; keep: Uint8Array[] } {
  // a C string ends at its first NUL: one inside an argument or variable would misplace every later entry
  const withNul = strings.find((s) => s.includes("\0"));
  if (withNul !== undefined) throw new Error(`execve: ${JSON.stringify(withNul.slice(0, 40))} contains a NUL byte`);
  const encoded = new TextEncoder().encode(strings.join("\0") + "\0");
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
