// The device filter against the kernel: for many rule sets, a process in a v2 cgroup carrying the
// program gets EPERM exactly where the emulator (lib/devices, v1 semantics) says deny, and, on hosts
// that still have a v1 devices controller, exactly where a process in a v1 devices cgroup with the
// same rules does. Pure cgroup v2 hosts have no v1 controller: there the emulator is the oracle, and
// the hybrid host's lane is where the emulator itself is checked against the kernel's v1 code. Also: replacement under load, show/add/remove, runc's shape.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, rmdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  DevcgAccess, DEVICE_PROGRAM_NAME, HOST_PROGRAM_NAME, Emulator, RUNC_ALLOWED_DEVICES, attachDeviceFilter, attachedDeviceProgramIds,
  compileDeviceFilter, detachDeviceFilters, formatRule, haveProgReplace, normalizeRules, readDeviceFilters, type DeviceRule,
} from "../../lib/devices/index.ts";
import { AttachFlag, AttachType, BpfProgram, ProgType, progAttach } from "../../lib/bpf/index.ts";
import { DevcgType } from "../../lib/bpf/constants.ts";
import {
  And32Imm, Exit, JumpImm, JumpOp, JumpReg, LoadMem, Mov32Imm, Mov32Reg, R0, R1, R2, R3, R4, R5, RSh32Imm, Word, assemble,
} from "../../lib/bpf/asm/index.ts";
import { O, S_IFBLK, S_IFCHR, close, makedev, mknod, open } from "../../lib/sys/index.ts";
import { describeNeeds, has } from "../support/prereq.ts";
import { PROBE_DEVICES, randomRuleSet, seededRandom, type ProbeDevice } from "../support/devicerules.ts";
import { cgroupMount } from "../../lib/cgroup/index.ts";

const MAIN = join(import.meta.dir, "../../main.ts");
const FIXTURES = join(import.meta.dir, "../../../shared/fixtures/bundles");
const V1_DEVICES = "/sys/fs/cgroup/devices";

// One process: join the cgroups named before "--", then probe. `once` prints one line per device:
// "c:1:3 R W RW M F FA" with 1 where the access got past the cgroup check (anything but EPERM) and
// 0 on EPERM; F is access(path, F_OK) and FA faccessat(AT_FDCWD, path, F_OK, AT_EACCESS): both
// reach the device cgroup check with no access bits. `loop` opens DENIED and ALLOWED read-only until STOP exists, then prints
// "rounds admitted-denied denied-allowed".
const PROBE_C = String.raw`
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static void join(const char *procs) {
  int fd = open(procs, O_WRONLY | O_CLOEXEC);
  char buf[32];
  int n = snprintf(buf, sizeof buf, "%d\n", getpid());
  if (fd < 0 || write(fd, buf, n) != n) { perror(procs); exit(3); }
  close(fd);
}
static int try_open(const char *path, int flags) {
  int fd = open(path, flags | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd >= 0) { close(fd); return 1; }
  return errno != EPERM;
}
static int try_mknod(const char *dir, char type, unsigned ma, unsigned mi) {
  char p[4096];
  snprintf(p, sizeof p, "%s/mk-%d-%c-%u-%u", dir, getpid(), type, ma, mi);
  if (mknod(p, (type == 'b' ? S_IFBLK : S_IFCHR) | 0600, makedev(ma, mi)) == 0) { unlink(p); return 1; }
  return errno != EPERM;
}
static int try_access(const char *path, int at) {
  int r = at ? faccessat(AT_FDCWD, path, F_OK, AT_EACCESS) : access(path, F_OK);
  return r == 0 || errno != EPERM;
}
static void node(char *out, const char *dir, const char *spec) {
  char type; unsigned ma, mi;
  sscanf(spec, "%c:%u:%u", &type, &ma, &mi);
  snprintf(out, 4096, "%s/%c-%u-%u", dir, type, ma, mi);
}
int main(int argc, char **argv) {
  int i = 2;
  for (; i < argc && strcmp(argv[i], "--"); i++) join(argv[i]);
  const char *dir = argv[++i];
  char p[4096], q[4096];
  if (!strcmp(argv[1], "once")) {
    for (i++; i < argc; i++) {
      char type; unsigned ma, mi;
      sscanf(argv[i], "%c:%u:%u", &type, &ma, &mi);
      node(p, dir, argv[i]);
      printf("%s %d %d %d %d %d %d\n", argv[i], try_open(p, O_RDONLY), try_open(p, O_WRONLY), try_open(p, O_RDWR), try_mknod(dir, type, ma, mi),
             try_access(p, 0), try_access(p, 1));
    }
    return 0;
  }
  const char *stop = argv[i + 1];
  node(p, dir, argv[i + 2]);
  node(q, dir, argv[i + 3]);
  long rounds = 0, admitted = 0, refused = 0;
  printf("ready\n");
  fflush(stdout);
  while (access(stop, F_OK) != 0) {
    if (try_open(p, O_RDONLY)) admitted++;
    if (!try_open(q, O_RDONLY)) refused++;
    rounds++;
  }
  printf("%ld %ld %ld\n", rounds, admitted, refused);
  return 0;
}
`;

const cgroup2Root = () => cgroupMount().mountpoint;

const specOf = (d: ProbeDevice) => `${d.type}:${d.major}:${d.minor}`;
/** The accesses the probe makes, in its column order: open r, w, rw, mknod, access(2) F_OK, faccessat F_OK. */
const PROBE_ACCESSES = [DevcgAccess.READ, DevcgAccess.WRITE, DevcgAccess.READ | DevcgAccess.WRITE, DevcgAccess.MKNOD, 0, 0];

/** The v1 devices controller as a second oracle, where the host has one (hybrid hosts). */
const V1_ORACLE = has("cgroup-v1-devices");

describeNeeds(["root", "cgroup2", "cc"], "device filter on the kernel", () => {
  const tag = `hookshim-devtest-${process.pid}`;
  let v2Parent = "";
  const v1Parent = join(V1_DEVICES, tag);
  let work = "";
  let probe = "";
  let counter = 0;
  const v2Made: string[] = [];
  const v1Made: string[] = [];

  beforeAll(() => {
    v2Parent = join(cgroup2Root(), tag);
    mkdirSync(v2Parent);
    if (V1_ORACLE) mkdirSync(v1Parent);
    work = mkdtempSync(join(tmpdir(), "hookshim-devices-"));
    writeFileSync(join(work, "probe.c"), PROBE_C);
    const cc = Bun.spawnSync(["cc", "-O1", "-o", join(work, "probe"), join(work, "probe.c")]);
    if (cc.exitCode !== 0) throw new Error(`cc: ${cc.stderr.toString()}`);
    probe = join(work, "probe");
    makeNodes(PROBE_DEVICES);
  });

  /** The device nodes the probe opens, in the work directory (a number without a driver opens with ENXIO: past the cgroup check). */
  function makeNodes(devices: readonly ProbeDevice[]): void {
    for (const d of devices) {
      const r = mknod(join(work, `${d.type}-${d.major}-${d.minor}`), (d.type === "b" ? S_IFBLK : S_IFCHR) | 0o600, makedev(d.major, d.minor));
      if (r !== 0) throw new Error(`mknod ${d.name}: errno ${-r}`);
    }
  }

  afterAll(() => {
    for (const dir of v2Made.reverse()) {
      try {
        detachDeviceFilters(dir);
      } catch {}
      try {
        rmdirSync(dir);
      } catch {}
    }
    for (const dir of [...v1Made.reverse(), ...(V1_ORACLE ? [v1Parent] : []), v2Parent]) {
      try {
        rmdirSync(dir);
      } catch {}
    }
    if (work) rmSync(work, { recursive: true, force: true });
  });

  function newV2(): string {
    const dir = join(v2Parent, `c${++counter}`);
    mkdirSync(dir);
    v2Made.push(dir);
    return dir;
  }

  function removeV2(dir: string): void {
    detachDeviceFilters(dir);
    rmdirSync(dir);
    v2Made.splice(v2Made.indexOf(dir), 1);
  }

  /** A v1 devices cgroup holding `rules` written as runc's v1 manager would. */
  function newV1(rules: DeviceRule[]): string {
    const dir = join(v1Parent, `c${++counter}`);
    mkdirSync(dir);
    v1Made.push(dir);
    writeFileSync(join(dir, "devices.deny"), "a");
    for (const r of normalizeRules(rules)) {
      const file = join(dir, r.allow ? "devices.allow" : "devices.deny");
      if (r.type === "a") writeFileSync(file, "a");
      else if (r.access) writeFileSync(file, formatRule(r)); // devices.list syntax: "c 1:3 rw"
    }
    return dir;
  }

  /** "c:1:3" -> [R, W, RW, M, F, FA], true where allowed. */
  function probeOnce(cgroupDirs: string[], devices: readonly ProbeDevice[] = PROBE_DEVICES): Map<string, boolean[]> {
    const args = [probe, "once", ...cgroupDirs.map((d) => join(d, "cgroup.procs")), "--", work, ...devices.map(specOf)];
    const r = Bun.spawnSync(args);
    if (r.exitCode !== 0) throw new Error(`probe: ${r.stderr.toString()}`);
    const out = new Map<string, boolean[]>();
    for (const line of r.stdout.toString().trim().split("\n")) {
      const [spec, ...bits] = line.split(" ");
      out.set(spec!, bits.map((b) => b === "1"));
    }
    return out;
  }

  function expected(e: Emulator, devices: readonly ProbeDevice[] = PROBE_DEVICES): Map<string, boolean[]> {
    return new Map(devices.map((d) => [specOf(d), PROBE_ACCESSES.map((a) => e.allows(d.type, d.major, d.minor, a))]));
  }

  /**
   * Attach the compiled rules to a fresh v2 cgroup and probe it against the emulator; where a v1
   * devices controller exists, write the rules to a fresh v1 group too: all of them must agree.
   */
  function compareWithV1(rules: DeviceRule[], devices: readonly ProbeDevice[] = PROBE_DEVICES): Map<string, boolean[]> {
    const emu = Emulator.fromRules(rules);
    const want = expected(emu, devices);
    const v2 = newV2();
    const v1 = V1_ORACLE ? newV1(rules) : undefined;
    try {
      const compiled = compileDeviceFilter(emu);
      attachDeviceFilter(v2, compiled);
      const got2 = probeOnce([v2], devices);
      const ctx = JSON.stringify(rules);
      // the rules read back from the kernel's (xlated) program are the ones compiled
      const [f] = readDeviceFilters(v2);
      expect({ rules: ctx, back: f!.filter?.blocks.map(({ type, major, minor, access }) => ({ type, major, minor, access })) }).toEqual({ rules: ctx, back: compiled.reduced.exceptions });
      if (v1) {
        const got1 = probeOnce([v1], devices);
        expect({ rules: ctx, v1: Object.fromEntries(got1) }).toEqual({ rules: ctx, v1: Object.fromEntries(want) });
      }
      expect({ rules: ctx, v2: Object.fromEntries(got2) }).toEqual({ rules: ctx, v2: Object.fromEntries(want) });
      return got2;
    } finally {
      removeV2(v2);
      if (v1) {
        rmdirSync(v1);
        v1Made.splice(v1Made.indexOf(v1), 1);
      }
    }
  }

  const fixtureDevices = (name: string): DeviceRule[] =>
    JSON.parse(readFileSync(join(FIXTURES, name), "utf8")).linux.resources.devices;

  function idsOf(dir: string): number[] {
    const fd = open(dir, O.RDONLY | O.DIRECTORY);
    try {
      return attachedDeviceProgramIds(fd);
    } finally {
      close(fd);
    }
  }

  test("the probe sees the kernel: no filter allows, a deny-all filter gives EPERM everywhere", () => {
    const v2 = newV2();
    try {
      const open = probeOnce([v2]);
      expect(open.get("c:1:3")).toEqual([true, true, true, true, true, true]);
      attachDeviceFilter(v2, compileDeviceFilter(Emulator.fromRules([{ allow: false, type: "a" }])));
      for (const bits of probeOnce([v2]).values()) expect(bits).toEqual([false, false, false, false, false, false]);
    } finally {
      removeV2(v2);
    }
  });

  const named: [string, DeviceRule[]][] = [
    ["OCI default list (runc AllowedDevices)", [{ allow: false, access: "rwm" }, ...RUNC_ALLOWED_DEVICES]],
    ["podman 4.3 fixture", fixtureDevices("podman-4.3.json")],
    ["containerd 1.6 fixture", fixtureDevices("containerd-1.6.json")],
    ["runc spec fixture", fixtureDevices("runc-1.1-spec.json")],
    ["privileged", [{ allow: true, type: "a", access: "rwm" }]],
    ["deny all", [{ allow: false, type: "a", access: "rwm" }]],
    ["wildcard majors", [{ allow: false, type: "a" }, { allow: true, type: "b", major: null, minor: 0, access: "rw" }, { allow: true, type: "c", major: 1, minor: null, access: "r" }]],
    ["partial deny on allow-all (v1 denies O_RDWR)", [{ allow: true, type: "a" }, { allow: false, type: "c", major: 1, minor: 3, access: "w" }]],
    ["partial access allow-list", [{ allow: false, type: "a" }, { allow: true, type: "c", major: 1, minor: 3, access: "r" }, { allow: true, type: "c", major: 1, minor: 5, access: "w" }, { allow: true, type: "b", major: 7, minor: 0, access: "m" }]],
    ["partial wildcard denies", [{ allow: true, type: "a" }, { allow: false, type: "b", major: null, minor: null, access: "m" }, { allow: false, type: "c", major: 10, minor: null, access: "rw" }]],
    ["default allow, every access to some devices denied (v1 lets F_OK through)", [{ allow: true, type: "a" }, { allow: false, type: "c", major: 1, minor: 3, access: "rwm" }, { allow: false, type: "b", major: null, minor: null, access: "rwm" }]],
  ];
  for (const [name, rules] of named) test(`v2 program = emulator${V1_ORACLE ? " = v1 controller" : ""}: ${name}`, () => void compareWithV1(rules));

  test("the partial deny case: O_RDWR on c 1:3 is denied (runc's program would allow it)", () => {
    const got = compareWithV1([{ allow: true, type: "a" }, { allow: false, type: "c", major: 1, minor: 3, access: "w" }]);
    expect(got.get("c:1:3")).toEqual([true, false, false, true, true, true]);
  });

  test("access(2) F_OK on a device every access of which is denied under default allow: allowed, as v1 (issue 15 #16)", () => {
    const got = compareWithV1([{ allow: true, type: "a" }, { allow: false, type: "c", major: 1, minor: 3, access: "rwm" }]);
    expect(got.get("c:1:3")).toEqual([false, false, false, false, true, true]);
    expect(got.get("c:1:5")).toEqual([true, true, true, true, true, true]);
  });

  test(`v2 program = emulator${V1_ORACLE ? " = v1 controller" : ""}: 40 seeded random rule sets`, () => {
    const rand = seededRandom(20261121);
    let compared = 0;
    while (compared < 40) {
      const rules = randomRuleSet(rand);
      try {
        Emulator.fromRules(rules);
      } catch {
        continue; // not representable: rejected before it reaches either kernel
      }
      compareWithV1(rules);
      compared++;
    }
  });

  // Runs of consecutive minors, each compiled to one range block (minor < lo, minor > hi), probed
  // at lo-1, lo, hi and hi+1 of every range: lo 0 (no lower test), a run of 1,000, the top of the
  // kernel's 20-bit minors, and a run split by its access.
  /** Exception blocks of a compiled program (block-N labels, less the default's). */
  const rangeBlocks = (c: { instructions: { symbol?: string }[] }) => c.instructions.filter((i) => i.symbol?.startsWith("block-")).length - 1;
  const rangeRun = (type: "b" | "c", major: number, lo: number, hi: number, access: string, allow = true): DeviceRule[] =>
    Array.from({ length: hi - lo + 1 }, (_, i) => ({ allow, type, major, minor: lo + i, access }));
  const RANGE_DEVICES: ProbeDevice[] = [
    ...[0, 4, 5, 9, 10, 19, 20].map((minor): ProbeDevice => ({ type: "c", major: 200, minor, name: "c 200 range" })),
    ...[19, 20, 21, 22].map((minor): ProbeDevice => ({ type: "c", major: 201, minor, name: "c 201 split by access" })),
    ...[0xffffd, 0xffffe, 0xfffff].map((minor): ProbeDevice => ({ type: "c", major: 202, minor, name: "c 202 top minors" })),
    ...[0, 999, 1000].map((minor): ProbeDevice => ({ type: "b", major: 203, minor, name: "b 203 1,000 minors" })),
  ];
  const rangeSets: [string, DeviceRule[], number][] = [
    ["allow-list", [
      { allow: false, type: "a" }, ...rangeRun("c", 200, 0, 4, "r"), ...rangeRun("c", 200, 10, 19, "rw"), ...rangeRun("c", 201, 20, 20, "rw"),
      ...rangeRun("c", 201, 21, 21, "r"), ...rangeRun("c", 202, 0xffffe, 0xfffff, "rwm"), ...rangeRun("b", 203, 0, 999, "rw"),
    ], 6],
    ["denies on allow-all (F_OK passes)", [
      { allow: true, type: "a" }, ...rangeRun("c", 200, 10, 19, "w", false), ...rangeRun("c", 202, 0xffffe, 0xfffff, "rwm", false),
      ...rangeRun("b", 203, 0, 999, "m", false), ...rangeRun("c", 201, 20, 21, "rwm", false),
    ], 4],
  ];
  for (const [name, rules, blocks] of rangeSets)
    test(`consecutive minors as range blocks, ${name}: v2 program = emulator${V1_ORACLE ? " = v1 controller" : ""} at lo-1, lo, hi, hi+1`, () => {
      makeNodes(RANGE_DEVICES.filter((d) => !existsSync(join(work, `${d.type}-${d.major}-${d.minor}`))));
      const compiled = compileDeviceFilter(Emulator.fromRules(rules));
      expect(rangeBlocks(compiled)).toBe(blocks);
      expect(compiled.instructions.length).toBeLessThan(60);
      const got = compareWithV1(rules, RANGE_DEVICES);
      if (name === "allow-list") {
        expect(got.get("c:200:4")).toEqual([true, false, false, false, true, true]);
        expect(got.get("c:200:5")).toEqual([false, false, false, false, false, false]);
        expect(got.get("b:203:999")).toEqual([true, true, true, false, true, true]);
        expect(got.get("b:203:1000")).toEqual([false, false, false, false, false, false]);
      }
    });

  test("minors past the kernel's 20 bits (around 0x7fffffff and 0xffffffff): the range program's own decisions, test-run by the kernel", () => {
    // No device node has a minor past 2^20, so the same instructions are loaded as a syscall program
    // (its context is the 12 bytes given) and run with BPF_PROG_TEST_RUN: r0 is the verdict.
    const BPF_F_SLEEPABLE = 1 << 4; // include/uapi/linux/bpf.h: a syscall program must be sleepable
    const major = 0x80000000;
    const ranges: [number, number][] = [[0x7ffffffe, 0x80000001], [0xfffffffc, 0xfffffffe], [0, 3]];
    const ctx = (access: number, minor: number) => {
      const b = new Uint8Array(12);
      const v = new DataView(b.buffer);
      v.setUint32(0, DevcgType.CHAR | (access << 16), true);
      v.setUint32(4, major, true);
      v.setUint32(8, minor, true);
      return b;
    };
    for (const allow of [true, false]) {
      const rules: DeviceRule[] = [{ allow: !allow, type: "a" }, ...ranges.flatMap(([lo, hi]) => rangeRun("c", major, lo, hi, "rw", allow))];
      const emu = Emulator.fromRules(rules);
      const compiled = compileDeviceFilter(emu);
      expect(rangeBlocks(compiled)).toBe(3);
      const prog = BpfProgram.load({ type: ProgType.SYSCALL, instructions: compiled.bytes, name: "hookshim_range", flags: BPF_F_SLEEPABLE });
      try {
        for (const [lo, hi] of ranges)
          for (const minor of [lo - 1, lo, hi, hi + 1].filter((m) => m >= 0 && m <= 0xffffffff))
            for (let a = 0; a <= 7; a++) {
              const dev = `c ${major}:${minor.toString(16)} access ${a}`;
              expect({ dev, allows: prog.testRun({ ctx: ctx(a, minor) }).retval === 1 }).toEqual({ dev, allows: emu.allows("c", major, minor, a) });
            }
      } finally {
        prog.close();
      }
    }
  });

  test("replacement keeps one hookshim program and never admits a denied access (100 swaps under a probe loop)", async () => {
    const v2 = newV2();
    const stop = join(work, `stop-${counter}`);
    // both deny c 1:5 and allow reading c 1:3; they differ elsewhere so every swap changes the program
    const a = compileDeviceFilter(Emulator.fromRules([{ allow: false, type: "a" }, { allow: true, type: "c", major: 1, minor: 3, access: "rwm" }]));
    const b = compileDeviceFilter(Emulator.fromRules([{ allow: false, type: "a" }, { allow: true, type: "c", major: 1, minor: 3, access: "r" }, { allow: true, type: "c", major: 10, minor: 200, access: "rwm" }]));
    attachDeviceFilter(v2, a);
    const loop = Bun.spawn([probe, "loop", join(v2, "cgroup.procs"), "--", work, stop, "c:1:5", "c:1:3"], { stdout: "pipe", stderr: "pipe" });
    try {
      const reader = loop.stdout.getReader();
      const first = await reader.read();
      expect(new TextDecoder().decode(first.value)).toStartWith("ready");
      let atomic = 0;
      for (let i = 0; i < 100; i++) {
        const r = attachDeviceFilter(v2, i % 2 ? a : b);
        if (r.atomic) atomic++;
        expect(idsOf(v2)).toEqual([r.progId]);
      }
      expect(atomic).toBe(haveProgReplace() ? 100 : 0);
      writeFileSync(stop, "");
      let rest = "";
      for (;;) {
        const c = await reader.read();
        if (c.done) break;
        rest += new TextDecoder().decode(c.value);
      }
      await loop.exited;
      const [rounds, admitted, refused] = rest.trim().split(" ").map(Number);
      expect(rounds).toBeGreaterThan(0);
      expect({ admitted, refused }).toEqual({ admitted: 0, refused: 0 });
      const filters = readDeviceFilters(v2);
      expect(filters.map((f) => f.name)).toEqual([DEVICE_PROGRAM_NAME]);
    } finally {
      loop.kill();
      await loop.exited;
      removeV2(v2);
    }
  });

  test("with two programs attached, apply attaches first and detaches both after, under a probe loop", async () => {
    const v2 = newV2();
    const stop = join(work, `stop-${counter}`);
    const rules: DeviceRule[] = [{ allow: false, type: "a" }, { allow: true, type: "c", major: 1, minor: 3, access: "r" }];
    attachDeviceFilter(v2, compileDeviceFilter(Emulator.fromRules(rules)));
    // a second, foreign program that allows everything
    const extra = BpfProgram.load({ type: ProgType.CGROUP_DEVICE, instructions: assemble([Mov32Imm(R0, 1), Exit()]), name: "other_dev" });
    const fd = open(v2, O.RDONLY | O.DIRECTORY);
    progAttach({ targetFd: fd, progFd: extra.fd, attachType: AttachType.CGROUP_DEVICE, flags: AttachFlag.ALLOW_MULTI });
    extra.close();
    expect(attachedDeviceProgramIds(fd)).toHaveLength(2);
    const loop = Bun.spawn([probe, "loop", join(v2, "cgroup.procs"), "--", work, stop, "c:1:5", "c:1:3"], { stdout: "pipe" });
    try {
      const reader = loop.stdout.getReader();
      await reader.read();
      const r = attachDeviceFilter(v2, compileDeviceFilter(Emulator.fromRules(rules)));
      expect(r.atomic).toBe(false);
      expect(r.replaced).toHaveLength(2);
      expect(attachedDeviceProgramIds(fd)).toEqual([r.progId]);
      writeFileSync(stop, "");
      let rest = "";
      for (let c = await reader.read(); !c.done; c = await reader.read()) rest += new TextDecoder().decode(c.value);
      const [, admitted, refused] = rest.trim().split(" ").map(Number);
      expect({ admitted, refused }).toEqual({ admitted: 0, refused: 0 });
    } finally {
      close(fd);
      loop.kill();
      await loop.exited;
      removeV2(v2);
    }
  });

  async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
    return cliWith({}, ...args);
  }

  /** The CLI with hookshim's config `hostConfig` (written to a file) and `stdin`. */
  async function cliWith(o: { hostConfig?: object; stdin?: string }, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
    const env: Record<string, string | undefined> = { ...process.env, HOOKSHIM_CONFIG: undefined };
    if (o.hostConfig) {
      env.HOOKSHIM_CONFIG = join(work, `hookshim-config-${++counter}.json`);
      writeFileSync(env.HOOKSHIM_CONFIG, JSON.stringify(o.hostConfig));
    }
    const p = Bun.spawn([process.execPath, MAIN, ...args], {
      stdout: "pipe", stderr: "pipe", env, stdin: o.stdin === undefined ? "ignore" : new Blob([o.stdin]),
    });
    const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]);
    return { code: await p.exited, out, err };
  }

  /** runc's spec (deny all, so the runtime's defaults: c *:* m, b *:* m, the standard set) with `annotations`. */
  function runcBundle(annotations: Record<string, string> = {}): string {
    const dir = join(work, `bundle-${++counter}`);
    mkdirSync(dir);
    writeFileSync(join(dir, "config.json"), JSON.stringify({ ...JSON.parse(readFileSync(join(FIXTURES, "runc-1.1-spec.json"), "utf8")), annotations }));
    return dir;
  }

  const HOST_DENY_TUN = { allow: false, type: "c", major: 10, minor: 200, access: "rwm" };
  const NONE = [false, false, false, false, true, true]; // every access denied; F_OK passes, as in v1

  test("a host deny wins over a permitted annotation request, in the kernel (issue 15 #1)", async () => {
    const v2 = newV2();
    try {
      const hostConfig = {
        devices: {
          rules: [{ allow: false, type: "c", major: 10, minor: 200, access: "rw" }],
          requests: { allowed: true, permitted: [{ allow: true, type: "c", major: 10, minor: null, access: "rw" }] },
        },
      };
      const bundle = runcBundle({ "io.hookshim.devices": "c 10:200 rw" });
      const applied = await cliWith({ hostConfig }, "devices", "apply", "--cgroup", v2, "--config", bundle);
      expect(applied).toMatchObject({ code: 0, err: "" });
      const got = probeOnce([v2]);
      expect(got.get("c:10:200")).toEqual([false, false, false, true, true, true]); // mknod: runc's c *:* m
      expect(got.get("c:1:3")).toEqual([true, true, true, true, true, true]);
      const check = await cliWith({ hostConfig }, "devices", "check", "--config", bundle, "--device", "c 10:200", "--access", "rw");
      expect(check.out.trim()).toBe("deny");
    } finally {
      removeV2(v2);
    }
  });

  test("a natural host deny (c 10:200 rwm) beside runc's c *:* m: one program, the deny a prefix block that holds through devices add (issue 15 #2)", async () => {
    const v2 = newV2();
    try {
      const hostConfig = { devices: { rules: [HOST_DENY_TUN], requests: { allowed: false, permitted: [] } } };
      const bundle = runcBundle();
      // the runtime's program first (runc's shape for its spec), as a hook finds it on pure v2
      const runtime = attachDeviceFilter(v2, compileDeviceFilter(Emulator.fromRules([{ allow: false, access: "rwm" }, ...RUNC_ALLOWED_DEVICES])));
      const applied = await cliWith({ hostConfig }, "devices", "apply", "--cgroup", v2, "--config", bundle);
      expect(applied).toMatchObject({ code: 0, err: "" });
      expect(applied.out).toContain("1 host deny block first");
      // the one program in place of the runtime's: swapped atomically where the kernel can
      expect(applied.out).toContain(haveProgReplace() ? `) replaced ${runtime.progId}\n` : `replaced ${runtime.progId} (attach, then detach)`);
      let got = probeOnce([v2]);
      expect(got.get("c:10:200")).toEqual(NONE);
      expect(got.get("c:1:3")).toEqual([true, true, true, true, true, true]);
      expect(got.get("b:7:0")).toEqual([false, false, false, true, true, true]); // runc's b *:* m
      expect(readDeviceFilters(v2).map((f) => f.name)).toEqual([DEVICE_PROGRAM_NAME]);

      // the prefix, read back from the kernel's program, labelled with its rule in the active config
      const shown = await cliWith({ hostConfig }, "devices", "show", "--cgroup", v2);
      expect(shown.code).toBe(0);
      expect(shown.out).toMatch(/hookshim_dev \(hookshim\)[^\n]*\n  host deny c 10:200 rwm  # policy\.rules\[0\], checked first\n  deny a \*:\* rwm\n/);
      expect(shown.out).not.toContain("every program allows it");
      const json = JSON.parse((await cliWith({ hostConfig }, "devices", "show", "--cgroup", v2, "--json")).out);
      expect(json.map((f: { name: string }) => f.name)).toEqual([DEVICE_PROGRAM_NAME]);
      expect(json[0].hostDenies).toEqual([{ type: "c", major: 10, minor: 200, access: "rwm", source: "policy.rules[0]" }]);
      // without that config the blocks are still shown as host denies, not attributed
      const unlabelled = await cliWith({ hostConfig: {} }, "devices", "show", "--cgroup", v2);
      expect(unlabelled.out).toContain("host deny c 10:200 rwm  # not the active config's host policy, checked first");

      // the container's list changes; the prefix stays ahead of it, and the CLI says so
      const added = await cli("devices", "add", "--cgroup", v2, "c 10:200 rwm");
      expect(added.code).toBe(0);
      expect(added.out).toContain("allow c 10:200 rwm");
      expect(added.out).toContain("still denies c 10:200 rwm: a host deny is checked first");
      got = probeOnce([v2]);
      expect(got.get("c:10:200")).toEqual(NONE);
      const after = readDeviceFilters(v2);
      expect(after.map((f) => f.name)).toEqual([DEVICE_PROGRAM_NAME]);
      expect(after[0]!.filter!.hostDenies).toEqual([{ type: "c", major: 10, minor: 200, access: DevcgAccess.ALL }]);
      // and removing a rule keeps it too
      expect((await cli("devices", "remove", "--cgroup", v2, "c 1:3 w")).code).toBe(0);
      got = probeOnce([v2]);
      expect(got.get("c:10:200")).toEqual(NONE);
      expect(got.get("c:1:3")).toEqual([true, false, false, true, true, true]); // as v1 with w denied
      expect(readDeviceFilters(v2)[0]!.filter!.hostDenies).toHaveLength(1);
    } finally {
      removeV2(v2);
    }
  });

  test("fail mode open: a container input the hook refuses still gets the host policy attached (issue 15 #2)", async () => {
    const v2 = newV2();
    const sleeper = Bun.spawn(["sleep", "60"]);
    try {
      writeFileSync(join(v2, "cgroup.procs"), String(sleeper.pid));
      const hostConfig = {
        failMode: "open", cgroupParent: `/${tag}`, store: `devtest${process.pid}`,
        devices: { rules: [HOST_DENY_TUN], requests: { allowed: false, permitted: [] } },
      };
      // the container asks for a device the host does not allow requests for: its filter cannot be built
      const bundle = runcBundle({ "io.hookshim.devices": "c 10:200 rw" });
      const state = { ociVersion: "1.0.2", id: `hs-failopen-${process.pid}`, status: "creating", pid: sleeper.pid, bundle };
      const r = await cliWith({ hostConfig, stdin: JSON.stringify(state) }, "hook", "prestart");
      expect(r.code).toBe(0);
      expect(r.err).toContain("does not allow device requests");
      expect(r.err).toContain("host device policy attached alone");
      const filters = readDeviceFilters(v2);
      expect(filters.map((f) => [f.name, f.hostPolicy])).toEqual([[HOST_PROGRAM_NAME, true]]);
      expect(probeOnce([v2]).get("c:10:200")).toEqual(NONE);
      expect(probeOnce([v2]).get("c:1:3")).toEqual([true, true, true, true, true, true]);
    } finally {
      sleeper.kill();
      await sleeper.exited;
      removeV2(v2);
    }
  });

  test("CLI: apply, show, add, remove keep every other rule and change the kernel's decisions", async () => {
    const v2 = newV2();
    try {
      const cfg = join(FIXTURES, "containerd-1.6.json");
      const applied = await cli("devices", "apply", "--cgroup", v2, "--config", cfg);
      expect(applied).toMatchObject({ code: 0 });
      expect(applied.out).toContain("attached");
      const shown = await cli("devices", "show", "--cgroup", v2);
      expect(shown.code).toBe(0);
      const lines = shown.out.trim().split("\n");
      expect(lines[0]).toContain(`${DEVICE_PROGRAM_NAME} (hookshim)`);
      // the config's rules and the runtime's defaults (runc's mknod-anything and /dev/net/tun), as the hook attaches them
      expect(lines.slice(1).map((l) => l.trim())).toEqual([
        "deny a *:* rwm", "allow b *:* m", "allow c *:* m", "allow c 1:3 rwm", "allow c 1:5 rwm", "allow c 1:7 rwm", "allow c 1:8 rwm",
        "allow c 1:9 rwm", "allow c 5:0 rwm", "allow c 5:1 rwm", "allow c 5:2 rwm", "allow c 10:200 rwm", "allow c 136:* rwm",
      ]);
      expect(probeOnce([v2]).get("b:7:0")).toEqual([false, false, false, true, true, true]);

      const added = await cli("devices", "add", "--cgroup", v2, "b 7:0 rw");
      expect(added.code).toBe(0);
      expect(added.out).toContain("allow b 7:0 rw");
      expect(probeOnce([v2]).get("b:7:0")).toEqual([true, true, true, true, true, true]);

      const removed = await cli("devices", "remove", "--cgroup", v2, "c 1:3 w");
      expect(removed.code).toBe(0);
      expect(probeOnce([v2]).get("c:1:3")).toEqual([true, false, false, true, true, true]);

      const json = JSON.parse((await cli("devices", "show", "--cgroup", v2, "--json")).out);
      expect(json).toHaveLength(1);
      expect(json[0].rules).toHaveLength(13);
      expect(json[0].rules).toContainEqual({ allow: true, type: "c", major: 1, minor: 3, access: "rm", test: "subset", v1: true });

      // a hole in c 136:* cannot be represented: exit 2, nothing changes
      const before = idsOf(v2);
      const hole = await cli("devices", "remove", "--cgroup", v2, "c 136:3 rw");
      expect(hole.code).toBe(2);
      expect(hole.err).toMatch(/^hookshim: devices remove "c 136:3 rw": cannot be represented.*"c 136:\* rwm"/);
      expect(idsOf(v2)).toEqual(before);
    } finally {
      removeV2(v2);
    }
  });

  test("CLI: a rule set runc rejects is rejected with exit 2 naming the index, and nothing is attached", async () => {
    const v2 = newV2();
    const rulesFile = join(work, "hole.json");
    try {
      writeFileSync(rulesFile, JSON.stringify([{ allow: false, type: "a" }, { allow: true, type: "c", access: "rwm" }, { allow: false, type: "c", major: 1, minor: 3, access: "r" }]));
      const r = await cli("devices", "apply", "--cgroup", v2, "--rules", rulesFile);
      expect(r.code).toBe(2);
      expect(r.err.trim().split("\n")).toHaveLength(1);
      expect(r.err).toContain("rules[2]");
      expect(readDeviceFilters(v2)).toEqual([]);
    } finally {
      removeV2(v2);
    }
  });

  test("show reads runc's program shape and flags where it differs from v1 (runc's subset test on a deny)", () => {
    const v2 = newV2();
    try {
      // runc's DeviceFilter for [a allow, c 1:3 w deny], instruction for instruction
      const insns = [
        LoadMem(R2, R1, 0, Word), And32Imm(R2, 0xffff), LoadMem(R3, R1, 0, Word), RSh32Imm(R3, 16), LoadMem(R4, R1, 4, Word), LoadMem(R5, R1, 8, Word),
        JumpImm(JumpOp.JNE, R2, 2, "block-1").withSymbol("block-0"),
        Mov32Reg(R1, R3), And32Imm(R1, DevcgAccess.WRITE), JumpReg(JumpOp.JNE, R1, R3, "block-1"),
        JumpImm(JumpOp.JNE, R4, 1, "block-1"), JumpImm(JumpOp.JNE, R5, 3, "block-1"),
        Mov32Imm(R0, 0), Exit(),
        Mov32Imm(R0, 1).withSymbol("block-1"), Exit(),
      ];
      const prog = BpfProgram.load({ type: ProgType.CGROUP_DEVICE, instructions: assemble(insns), license: "Apache" });
      const fd = open(v2, O.RDONLY | O.DIRECTORY);
      try {
        progAttach({ targetFd: fd, progFd: prog.fd, attachType: AttachType.CGROUP_DEVICE, flags: AttachFlag.ALLOW_MULTI });
      } finally {
        close(fd);
        prog.close();
      }
      // the kernel confirms the issues: runc's shape lets O_RDWR through where v1 denies, and denies
      // access(2) F_OK (no bits requested) where v1 allows
      expect(probeOnce([v2]).get("c:1:3")).toEqual([true, false, true, true, false, false]);
      const [f] = readDeviceFilters(v2);
      expect(f!.hookshim).toBe(false);
      expect(f!.filter).toEqual({
        hostDenies: [],
        defaultAllow: true,
        blocks: [{ type: "c", major: 1, minor: 3, access: DevcgAccess.WRITE, allow: false, test: "subset", v1: false }],
      });
      // rewriting it through hookshim gives the v1 decision
      attachDeviceFilter(v2, compileDeviceFilter(Emulator.fromRules([{ allow: true, type: "a" }, { allow: false, type: "c", major: 1, minor: 3, access: "w" }])));
      expect(probeOnce([v2]).get("c:1:3")).toEqual([true, false, false, true, true, true]);
    } finally {
      removeV2(v2);
    }
  });
});
