// Loads bpf/execargs.ts and attaches it to syscalls/sys_enter_execve on every online CPU. The program
// and its maps live as long as this process: nothing is pinned, a restarted notifier loads afresh.
import { BpfMap, BpfProgram, MapType, ProgType } from "../bpf/index.ts";
import { TracepointAttachment } from "../bpf/perf.ts";
import { assemble } from "../bpf/asm/index.ts";
import { EXECARGS_MAPS, EXEC_RECORD, EXEC_RECORD_KEY_SIZE, execargsInstructions } from "../../bpf/execargs.ts";
import { tracepointFormat, ensureTracefs } from "./tracefs.ts";

export const EXECVE_TRACEPOINT = { system: "syscalls", event: "sys_enter_execve" } as const;

/**
 * The worker takes each record while the exec is held, so the map only needs room for runtime execs in
 * flight (and those whose fanotify event never came: a failed exec). Records not taken age out.
 */
export const RECORD_SLOTS = 256;

export class ExecArgsCapture {
  private constructor(
    readonly records: BpfMap,
    private readonly scratch: BpfMap,
    private readonly prog: BpfProgram,
    private readonly attachment: TracepointAttachment,
  ) {}

  /**
   * `watchedNames`: basenames of the runtime binaries; only their execs are recorded (empty: every
   * exec, which costs a record slot per exec on the host). `programName` tells a probe's copy apart.
   */
  static start(watchedNames: readonly string[], programName = "execargs"): ExecArgsCapture {
    const format = tracepointFormat(EXECVE_TRACEPOINT.system, EXECVE_TRACEPOINT.event, ensureTracefs());
    const filename = format.fields.get("filename");
    const argv = format.fields.get("argv");
    if (!filename || !argv) throw new Error(`tracepoint ${EXECVE_TRACEPOINT.event}: its format has no filename/argv fields`);

    const scratch = BpfMap.create({ type: MapType.PERCPU_ARRAY, keySize: 4, valueSize: EXEC_RECORD.size, maxEntries: 1, name: "execargs_scr" });
    const records = BpfMap.create({
      type: MapType.LRU_HASH, keySize: EXEC_RECORD_KEY_SIZE, valueSize: EXEC_RECORD.size, maxEntries: RECORD_SLOTS, name: "execargs_rec",
    });
    let prog: BpfProgram | undefined;
    try {
      const insns = assemble(execargsInstructions({ filename: filename.offset, argv: argv.offset }, watchedNames), {
        maps: { [EXECARGS_MAPS.scratch]: scratch.fd, [EXECARGS_MAPS.records]: records.fd },
      });
      prog = BpfProgram.load({ type: ProgType.TRACEPOINT, instructions: insns, name: programName, license: "GPL" });
      const attachment = TracepointAttachment.attach(prog.fd, format.id);
      return new ExecArgsCapture(records, scratch, prog, attachment);
    } catch (e) {
      prog?.close();
      records.close();
      scratch.close();
      throw e;
    }
  }

  close(): void {
    this.attachment.close();
    this.prog.close();
    this.records.close();
    this.scratch.close();
  }
}
