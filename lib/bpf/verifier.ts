// The verifier's rejection, made readable: the message shows the last meaningful lines of the log
// (the failing instruction and the reason), the full log stays on the error for --debug and tests.
import { errnoName, SyscallError } from "../sys/index.ts";

const NOISE = [/^processed \d+ insns/, /^verification time/, /^stack depth/, /^\s*$/, /^-- END PROG LOAD LOG --/];

/** A program load the verifier refused: a SyscallError (isErrno(e, "EACCES") matches it) with the log. */
export class VerifierError extends SyscallError {
  readonly log: string;
  readonly truncated: boolean;
  readonly program: string;
  constructor(program: string, errno: number, log: string, truncated = false) {
    const tail = VerifierError.tail(log);
    super(
      "bpf",
      errno,
      `BPF_PROG_LOAD, program ${program}`,
      `load program ${program}: ${errnoName(errno)}` + (tail.length ? `: ${tail.join(" | ")}` : "") + (truncated ? " (log truncated)" : ""),
    );
    this.name = "VerifierError";
    this.log = log;
    this.truncated = truncated;
    this.program = program;
  }

  /** The lines that explain the failure: from the last instruction the verifier printed to the end. */
  static tail(log: string, max = 4): string[] {
    const lines = log.split("\n").filter((l) => !NOISE.some((re) => re.test(l)));
    let start = lines.length - 1;
    for (let i = lines.length - 1; i >= 0; i--) {
      if (/^\d+: \(/.test(lines[i]!)) {
        start = i;
        break;
      }
    }
    return lines.slice(Math.max(start, lines.length - max)).map((l) => l.trim());
  }
}
