// The exit programs' "has the thread group died?" test (bpf/groupdead.ts) on the real kernel, for
// every form this kernel accepts: the tracepoint's group_dead argument where it has one (6.16+), and
// task->signal->live everywhere. A leader that calls pthread_exit and a leader killed by another
// thread's execve (de_thread) must not be taken for the process ending; the process's own end must
// be recorded with its status. The program is exitsnoop, on maps of its own.
import { expect } from "bun:test";
import { readFileSync } from "node:fs";
import { BpfMap, BpfProgram, MapType, ProgType, rawTracepointOpen, type BpfLink } from "../../lib/bpf/index.ts";
import { assemble } from "../../lib/bpf/asm/index.ts";
import { kernelBtf } from "../../lib/bpf/btf.ts";
import { exitsnoopOffsets, nsInode } from "../../lib/store/index.ts";
import { EXITSNOOP_MAPS, EXIT_STATUS, EXITED_KEY_SIZE, TASK_INFO, TRACING_KEY_SIZE, exitsnoopInstructions } from "../../bpf/exitsnoop.ts";
import { EXIT_TRACEPOINT, groupDeadSource, signalLiveSource, type GroupDeadSource } from "../../bpf/groupdead.ts";
import { describeNeeds, needs } from "../support/prereq.ts";
import { threadexitBinary } from "../support/threadexit.ts";


function sources(): [string, GroupDeadSource][] {
  const btf = kernelBtf();
  const out: [string, GroupDeadSource][] = [
    ["task->signal->live", signalLiveSource(btf)],
  ];
  if ((btf.tracepointArgCount(EXIT_TRACEPOINT) ?? 0) >= 2) out.unshift(["the group_dead argument", { kind: "argument" }]);
  return out;
}

class Tracer {
  readonly tracing = BpfMap.create({ type: MapType.HASH, keySize: TRACING_KEY_SIZE, valueSize: TASK_INFO.size, maxEntries: 64, name: "hs_t_tracing" });
  readonly exited = BpfMap.create({ type: MapType.HASH, keySize: EXITED_KEY_SIZE, valueSize: EXIT_STATUS.size, maxEntries: 64, name: "hs_t_exited" });
  private readonly prog: BpfProgram;
  private readonly link: BpfLink;
  private nextId = 1n;

  constructor(groupDead: GroupDeadSource) {
    const insns = assemble(exitsnoopInstructions({ ...exitsnoopOffsets(), groupDead }), {
      maps: { [EXITSNOOP_MAPS.tracing]: this.tracing.fd, [EXITSNOOP_MAPS.exited]: this.exited.fd },
    });
    this.prog = BpfProgram.load({ type: ProgType.RAW_TRACEPOINT, instructions: insns, name: "hs_t_exitgroup", license: "GPL" });
    this.link = rawTracepointOpen(EXIT_TRACEPOINT, this.prog.fd);
  }

  trace(pid: number): bigint {
    const id = this.nextId++;
    const key = new Uint8Array(TRACING_KEY_SIZE);
    new DataView(key.buffer).setUint32(0, pid, true);
    const value = new Uint8Array(TASK_INFO.size);
    const v = new DataView(value.buffer);
    v.setBigUint64(TASK_INFO.traceId, id, true);
    v.setBigUint64(TASK_INFO.pidnsIno, BigInt(nsInode(process.pid, "pid")), true);
    this.tracing.update(key, value);
    return id;
  }

  isTracing(pid: number): boolean {
    const key = new Uint8Array(TRACING_KEY_SIZE);
    new DataView(key.buffer).setUint32(0, pid, true);
    return this.tracing.lookup(key) !== undefined;
  }

  /** {pid, wait status} written for this trace id, if any. */
  exit(id: bigint): { pid: number; waitStatus: number } | undefined {
    const key = new Uint8Array(EXITED_KEY_SIZE);
    new DataView(key.buffer).setBigUint64(0, id, true);
    const v = this.exited.lookup(key);
    if (!v) return undefined;
    const d = new DataView(v.buffer, v.byteOffset);
    return { pid: d.getUint32(EXIT_STATUS.pid, true), waitStatus: d.getUint32(EXIT_STATUS.waitStatus, true) };
  }

  close() {
    this.link.close();
    this.prog.close();
    this.tracing.close();
    this.exited.close();
  }
}

type Child = ReturnType<typeof spawn>;
function spawn(argv: string[]) {
  return Bun.spawn(argv, { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
}
async function line(p: Child, text: string) {
  p.stdin.write(text + "\n");
  await p.stdin.flush();
}
async function readReady(p: Child) {
  const reader = p.stdout.getReader();
  let got = "";
  while (!got.includes("ready\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`child ended before "ready" (got ${JSON.stringify(got)})`);
    got += new TextDecoder().decode(value);
  }
  reader.releaseLock();
}
async function until(what: string, fn: () => boolean, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(10);
  }
}
// While another thread's execve takes over the leader's pid (de_thread), /proc/PID is briefly gone
// (ENOENT) or names no live task (ESRCH).
const comm = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch (e) {
    if (["ENOENT", "ESRCH"].includes((e as NodeJS.ErrnoException).code ?? "")) return "";
    throw e;
  }
};

describeNeeds(["root", "btf", "cc"], "exit programs: thread-group death", () => {
  const binary = threadexitBinary();

  const test = needs("root", "btf", "cc");
  test("this kernel's form is the one the loader picks", () => {
    const picked = groupDeadSource(kernelBtf());
    const args = kernelBtf().tracepointArgCount(EXIT_TRACEPOINT);
    expect(args).toBeGreaterThanOrEqual(1);
    expect(picked.kind).toBe(args! >= 2 ? "argument" : "signal-live");
  });

  for (const [name, source] of sources()) {
    test(`${name}: a plain exit is recorded with its status`, async () => {
      const t = new Tracer(source);
      try {
        const p = spawn(["/bin/sh", "-c", "read x; exit 3"]);
        const id = t.trace(p.pid);
        await line(p, "go");
        await p.exited;
        expect(t.exit(id)).toEqual({ pid: p.pid, waitStatus: 3 << 8 });
        expect(t.isTracing(p.pid)).toBe(false);
      } finally {
        t.close();
      }
    });

    test(`${name}: a leader's pthread_exit is not the process ending; the last thread's exit(7) is`, async () => {
      const t = new Tracer(source);
      try {
        const p = spawn([binary(), "leader-exits", "7"]);
        const id = t.trace(p.pid);
        await line(p, "go");
        await readReady(p);
        // The leader is gone (a zombie thread) while the process lives on in its other thread.
        await until("the leader to exit", () => /State:\s+Z/.test(readFileSync(`/proc/${p.pid}/task/${p.pid}/status`, "utf8")));
        expect(t.exit(id)).toBeUndefined();
        expect(t.isTracing(p.pid)).toBe(true);
        await line(p, "end");
        expect(await p.exited).toBe(7);
        expect(t.exit(id)).toEqual({ pid: p.pid, waitStatus: 7 << 8 });
      } finally {
        t.close();
      }
    });

    test(`${name}: a leader killed by another thread's execve (de_thread) is not the process ending`, async () => {
      const t = new Tracer(source);
      try {
        const p = spawn([binary(), "exec-from-thread"]);
        const id = t.trace(p.pid);
        await line(p, "go");
        await readReady(p);
        await until("the exec to replace the process image", () => comm(p.pid) === "sh");
        expect(t.exit(id)).toBeUndefined();
        expect(t.isTracing(p.pid)).toBe(true);
        await line(p, "end");
        expect(await p.exited).toBe(9);
        expect(t.exit(id)).toEqual({ pid: p.pid, waitStatus: 9 << 8 });
      } finally {
        t.close();
      }
    });
  }
});
