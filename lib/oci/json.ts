// JSON as the runtimes write it: uint64 values such as RLIM_INFINITY (18446744073709551615) or
// seccomp masks do not fit a double, and a config written back must carry them exactly, so integers
// beyond 2^53 are read as bigint and written back digit for digit.
import { InputError } from "../errors.ts";
import { open, close, read, O } from "../sys/io.ts";
import { fstat } from "../sys/stat.ts";
import { SyscallError } from "../sys/error.ts";
import { concatBytes, utf8 } from "../sys/struct.ts";

/** Bad input from a file: the message is `file: reason`, and both parts stay reachable. */
export class FileInputError extends InputError {
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`${file}: ${reason}`);
    this.name = "FileInputError";
  }
}

// A number of 16+ digits is the only way an unsafe integer can appear; its absence (the usual case)
// lets JSON.parse run without a reviver, which would cost a callback per value.
const LONG_DIGITS = /\d{16}/;

type SourceContext = { source?: string };

function keepBigIntegers(_key: string, value: unknown, context?: SourceContext): unknown {
  if (typeof value === "number" && !Number.isSafeInteger(value) && context?.source && /^-?\d+$/.test(context.source))
    return BigInt(context.source);
  return value;
}

export function parseJson(text: string): unknown {
  return LONG_DIGITS.test(text) ? JSON.parse(text, keepBigIntegers as (k: string, v: unknown) => unknown) : JSON.parse(text);
}

const rawJSON = (JSON as unknown as { rawJSON: (text: string) => unknown }).rawJSON;

function bigintAsDigits(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? rawJSON(value.toString()) : value;
}

export function stringifyJson(value: unknown, indent?: string | number): string {
  return JSON.stringify(value, bigintAsDigits, indent);
}

/**
 * Reads a file of at most `limit` bytes as UTF-8. The size is checked before anything is read, and
 * the read itself stops past the limit for files whose size stat cannot tell (pipes, /proc).
 * `userControlled` (a bundle's config.json): the open never blocks on a FIFO nor follows a symlink
 * in the last component, and only a regular file is read.
 */
export function readLimited(file: string, limit: number, o: { userControlled?: boolean } = {}): string {
  let fd: number;
  try {
    fd = open(file, o.userControlled ? O.RDONLY | O.NONBLOCK | O.NOFOLLOW | O.NOCTTY : O.RDONLY);
  } catch (e) {
    if (o.userControlled && e instanceof SyscallError && e.code === "ELOOP") throw new FileInputError(file, "is a symbolic link: not followed");
    throw new FileInputError(file, `cannot open: ${e instanceof SyscallError ? e.code : String(e)}`);
  }
  try {
    const st = fstat(fd);
    if (st.isDirectory()) throw new FileInputError(file, "is a directory");
    if (o.userControlled && !st.isFile()) throw new FileInputError(file, "is not a regular file");
    if (st.size > limit) throw new FileInputError(file, `too large (${st.size} bytes, the limit is ${limit})`);
    const chunks: Uint8Array[] = [];
    let total = 0;
    const buf = new Uint8Array(Math.min(Math.max(st.size, 4096) + 1, limit + 1));
    for (;;) {
      let n: number;
      try {
        n = read(fd, buf, "read");
      } catch (e) {
        throw new FileInputError(file, `cannot read: ${e instanceof SyscallError ? e.code : String(e)}`);
      }
      if (n <= 0) break;
      total += n;
      if (total > limit) throw new FileInputError(file, `too large (more than ${limit} bytes)`);
      chunks.push(buf.slice(0, n));
    }
    return utf8(concatBytes(chunks, total));
  } finally {
    close(fd);
  }
}

/** readLimited + parseJson; malformed JSON is an InputError naming the file. */
export function readJsonFile(file: string, limit: number, o: { userControlled?: boolean } = {}): unknown {
  const text = readLimited(file, limit, o);
  try {
    return parseJson(text);
  } catch (e) {
    throw new FileInputError(file, `not valid JSON: ${(e as Error).message}`);
  }
}
