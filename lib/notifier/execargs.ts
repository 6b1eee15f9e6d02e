// Loads bpf/execargs.ts and attaches it to syscalls/sys_enter_execve and sys_enter_execveat on every
// online CPU (one program per tracepoint, sharing the maps). The programs and maps live as long as
// this process: nothing is pinned, a restarted notifier loads afresh.
import { BpfMap, BpfProgram, MapType, ProgType } from "../bpf/index.ts";
import { TracepointAttachment } from "../bpf/perf.ts";
import { assemble } from "../bpf/asm/index.ts";
import { EXECARGS_MAPS, EXEC_RECORD, EXEC_RECORD_KEY_SIZE, execargsInstructions } from "../../bpf/execargs.ts";
import { tracepointFormat, ensureTracefs } from "./tracefs.ts";

export const EXECVE_TRACEPOINT = { system: "syscalls", event: "sys_enter_execve" } as const;
export const EXECVEAT_TRACEPOINT = { system: "syscalls", event: "sys_enter_execveat" } as const;

/**
 * The worker takes each record while the exec is held, so the map only needs room for runtime execs in
 * flight (and those whose fanotify event never came: a failed exec). Records not taken age out.
 */
export const RECORD_SLOTS = 256;

export class ExecArgsCapture {
  private constructor(
    readonly records: BpfMap,
    private readonly scratch: BpfMap,
    private readonly progs: BpfProgram[],
    private readonly attachments: TracepointAttachment[],
  ) {}

  /**
   * `watchedNames`: basenames of the runtime binaries; only their execs are recorded (empty: every
   * exec, which costs a record slot per exec on the host). `programName` tells a probe's copy apart.
   */
  static start(watchedNames: readonly string[], programName = "execargs"): ExecArgsCapture {
    const tracefs = ensureTracefs();
    const scratch = BpfMap.create({ type: MapType.PERCPU_ARRAY, keySize: 4, valueSize: EXEC_RECORD.size, maxEntries: 1, name: "execargs_scr" });
    const records = BpfMap.create({
      type: MapType.LRU_HASH, keySize: EXEC_RECORD_KEY_SIZE, valueSize: EXEC_RECORD.size, maxEntries: RECORD_SLOTS, name: "execargs_rec",
    });
    const progs: BpfProgram[] = [];
    const attachments: TracepointAttachment[] = [];
    try {
      for (const tp of [EXECVE_TRACEPOINT, EXECVEAT_TRACEPOINT]) {
        const format = tracepointFormat(tp.system, tp.event, tracefs);
        const filename = format.fields.get("filename");
        const argv = format.fields.get("argv");
        if (!filename || !argv) throw new Error(`tracepoint ${tp.event}: its format has no filename/argv fields`);
        const insns = assemble(
          execargsInstructions({ filename: filename.offset, argv: argv.offset }, watchedNames, { recordEmptyFilename: tp === EXECVEAT_TRACEPOINT }),
          { maps: { [EXECARGS_MAPS.scratch]: scratch.fd, [EXECARGS_MAPS.records]: records.fd } },
        );
        const prog = BpfProgram.load({ type: ProgType.TRACEPOINT, instructions: insns, name: programName, license: "GPL" });
        progs.push(prog);
        attachments.push(TracepointAttachment.attach(prog.fd, format.id));
      }
      return new ExecArgsCapture(records, scratch, progs, attachments);
    } catch (e) {
      for (const a of attachments) a.close();
      for (const p of progs) p.close();
      records.close();
      scratch.close();
      throw e;
    }
  }

  /**
   * Run time of both programs since load, as the kernel counts it while run time stats are on
   * (lib/bpf enableRunStats): for the bench's cost per exec.
   */
  runStats(): { runTimeNs: bigint; runCount: bigint } {
    let runTimeNs = 0n, runCount = 0n;
    for (const p of this.progs) {
      const i = p.info();
      runTimeNs += i.runTimeNs;
      runCount += i.runCount;
    }
    return { runTimeNs, runCount };
  }

  close(): void {
    for (const a of this.attachments) a.close();
    for (const p of this.progs) p.close();
    this.records.close();
    this.scratch.close();
  }
}
