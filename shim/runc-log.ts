// Reporting in the form the shim's caller reads. containerd's runc client and conmon pass
// `--log FILE --log-format json` and, when runc fails, take the last `"level":"error"` line of
// that file as the reason; people read stderr. runc writes its log with logrus, so the shim's
// lines have logrus's shape: JSON keys level, msg, time (RFC 3339, seconds), or logfmt for the
// text format.
import { O, close, open, writeAll } from "../lib/sys/io.ts";
import { utf8Bytes } from "../lib/sys/struct.ts";
import type { RuntimeGlobals } from "../lib/oci/runtime-argv.ts";

export type LogLevel = "error" | "warning";

/** RFC 3339 in UTC with whole seconds, as logrus formats time.Now() by default. */
export function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

export function jsonLogLine(level: LogLevel, msg: string, date = new Date()): string {
  return `${JSON.stringify({ level, msg, time: rfc3339(date) })}\n`;
}

/** logrus's TextFormatter without a terminal: time="..." level=... msg="...". */
export function textLogLine(level: LogLevel, msg: string, date = new Date()): string {
  return `time="${rfc3339(date)}" level=${level} msg=${JSON.stringify(msg)}\n`;
}

export class RuncLog {
  constructor(
    /** --log: absent means runc would log to stderr only */
    private readonly file: string | undefined,
    private readonly format: string | undefined,
  ) {}

  static of(globals: RuntimeGlobals): RuncLog {
    return new RuncLog(globals.log, globals.logFormat);
  }

  /** Appends a line to the --log file when there is one. Failing to log never hides the error itself. */
  write(level: LogLevel, msg: string): void {
    if (this.file === undefined) return;
    const line = this.format === "json" ? jsonLogLine(level, msg) : textLogLine(level, msg);
    try {
      // runc opens its log O_APPEND|O_CREAT with mode 0644
      const fd = open(this.file, O.WRONLY | O.APPEND | O.CREAT, 0o644);
      try {
        writeAll(fd, utf8Bytes(line));
      } finally {
        close(fd);
      }
    } catch {
      // stderr still carries the message
    }
  }

  /** A problem that does not stop the container (a skipped hooks.d file): stderr and the log. */
  warn(msg: string): void {
    console.error(`hookshim: warning: ${msg}`);
    this.write("warning", `hookshim: ${msg}`);
  }
}
