// `hookshim doctor` tells the truth: the compiled binary loads and attaches the exit program, the
// execargs tracepoint program and a device program on a scratch cgroup, reports each ok, and leaves
// none of them behind; a probe the kernel refuses is reported `missing` with the kernel's reason.
import { afterAll, beforeAll, expect } from "bun:test";
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { describeNeeds, needs } from "../support/prereq.ts";
import { compile } from "../support/build.ts";
import { cgroupMount } from "../../lib/cgroup/index.ts";
import { kernelBtf } from "../../lib/bpf/btf.ts";
import { assemble, Mov64Imm, R0 } from "../../lib/bpf/asm/index.ts";
import { EXIT_TRACEPOINT, exitsnoopOffsets } from "../../lib/store/index.ts";
import { PROBE_NAMES, probeDeviceProgram, probeExitProgram, scratchCgroupName } from "../../lib/probe/index.ts";

interface CheckLine {
  name: string;
  ok: boolean;
  detail: string;
}

const PROBES = ["exit program", "execargs tracepoint", "device program"];
const tmp = mkdtempSync(join(tmpdir(), `doctor-kernel-${process.pid}-`));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Names of the live BPF programs and maps that carry a probe's name. */
function probeObjects(): string[] {
  const names = new Set<string>(Object.values(PROBE_NAMES));
  const found: string[] = [];
  for (const kind of ["prog", "map"]) {
    const r = Bun.spawnSync(["bpftool", "-j", kind, "show"], { stdout: "pipe", stderr: "pipe" });
    if (r.exitCode !== 0) throw new Error(`bpftool ${kind} show: ${r.stderr}`);
    for (const o of JSON.parse(r.stdout.toString() || "[]") as { id: number; name?: string }[])
      if (o.name && names.has(o.name)) found.push(`${kind} ${o.id} ${o.name}`);
  }
  return found;
}

/** Waits for the probes' objects to be gone (the kernel frees a released program's id at once; allow for stragglers). */
async function expectNoProbeObjects(): Promise<void> {
  let left = probeObjects();
  for (let i = 0; i < 100 && left.length; i++) {
    await Bun.sleep(20);
    left = probeObjects();
  }
  expect(left).toEqual([]);
}

function scratchGroupsOf(pid: number): string[] {
  const root = cgroupMount().mountpoint;
  return readdirSync(root).filter((e) => e === scratchCgroupName(pid));
}

describeNeeds(["root", "cgroup2", "btf", "bpffs", "tracefs", "bpftool"], "hookshim doctor", () => {
  let exe = "";
  beforeAll(() => {
    exe = join(tmp, "hookshim");
    const built = compile(exe);
    if (!built.ok) throw new Error(`bun build: ${built.error}`);
    chmodSync(tmp, 0o755);
  }, 300_000);

  needs("root")("doctor --json: every check ok, the probes really ran, nothing is left behind", async () => {
    const p = Bun.spawn([exe, "doctor", "--json"], { stdout: "pipe", stderr: "pipe" });
    const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    const lines = out.trim().split("\n").map((l) => JSON.parse(l) as CheckLine);
    expect(lines.filter((l) => !l.ok)).toEqual([]);
    expect(err).toBe("");
    expect(code).toBe(0);
    const byName = new Map(lines.map((l) => [l.name, l]));
    for (const name of PROBES) expect(byName.get(name)?.ok).toBe(true);
    const btf = kernelBtf();
    const groupDead = (btf.tracepointArgCount(EXIT_TRACEPOINT) ?? 0) >= 2 ? "the group_dead argument" : "task->signal->live";
    expect(byName.get("exit program")!.detail).toContain(`thread-group death from ${groupDead}`);
    expect(byName.get("device program")!.detail).toContain(`under ${cgroupMount().mountpoint}`);
    await expectNoProbeObjects();
    expect(scratchGroupsOf(p.pid)).toEqual([]);
  });

  needs("root")("doctor as an unprivileged user: the probes are missing with the kernel's errno, exit 1", async () => {
    const p = Bun.spawn(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", exe, "doctor", "--json"], {
      stdout: "pipe",
      stderr: "pipe",
      cwd: tmp,
    });
    const [out, code] = await Promise.all([new Response(p.stdout).text(), p.exited]);
    const lines = new Map(out.trim().split("\n").map((l) => JSON.parse(l) as CheckLine).map((l) => [l.name, l]));
    expect(code).toBe(1);
    for (const name of PROBES) {
      const l = lines.get(name)!;
      expect(l.ok).toBe(false);
      expect(l.detail).toMatch(/EPERM|EACCES/);
    }
    expect(scratchGroupsOf(p.pid)).toEqual([]);
  });

  needs("root")("a raw tracepoint the kernel does not have: the exit probe reports ENOENT from BPF_RAW_TRACEPOINT_OPEN", async () => {
    const r = probeExitProgram({ tracepoint: "hookshim_no_such_tracepoint" });
    expect(r.ok).toBe(false);
    expect(r.detail).toMatch(/^bpf\(BPF_RAW_TRACEPOINT_OPEN, raw tracepoint hookshim_no_such_tracepoint\): ENOENT/);
    await expectNoProbeObjects();
  });

  needs("root")("the group_dead argument is refused exactly where the tracepoint lacks it (the 6.1 start failure)", async () => {
    const args = kernelBtf().tracepointArgCount(EXIT_TRACEPOINT) ?? 0;
    const r = probeExitProgram({ offsets: { ...exitsnoopOffsets(), groupDead: { kind: "argument" } } });
    if (args >= 2) expect(r).toMatchObject({ ok: true });
    else {
      expect(r.ok).toBe(false);
      expect(r.detail).toMatch(/^bpf\(BPF_RAW_TRACEPOINT_OPEN, raw tracepoint sched_process_exit\): EINVAL/);
    }
    // the test this kernel's BTF picks always attaches
    expect(probeExitProgram()).toMatchObject({ ok: true });
    await expectNoProbeObjects();
  });

  needs("root")("a device program the verifier refuses: missing with its reason, the scratch cgroup removed", async () => {
    const insns = [Mov64Imm(R0, 1)]; // no exit
    const r = probeDeviceProgram({ filter: { hostDenies: [], reduced: { defaultAllow: false, exceptions: [] }, instructions: insns, bytes: assemble(insns) } });
    expect(r.ok).toBe(false);
    expect(r.detail).toMatch(new RegExp(`^load program ${PROBE_NAMES.deviceProgram}: EINVAL: .+`));
    expect(scratchGroupsOf(process.pid)).toEqual([]);
    await expectNoProbeObjects();
  });

  needs("root")("a cgroup root that does not exist: the device probe reports ENOENT and creates nothing", () => {
    const root = join(tmp, "no-such-cgroup-root");
    const r = probeDeviceProgram({ root });
    expect(r.ok).toBe(false);
    expect(r.detail).toContain("ENOENT");
    expect(r.detail).toContain(root);
    expect(existsSync(root)).toBe(false);
  });
});
