// Device filter per container: compile + load + attach of hookshim's program for runc's 11-rule
// default list, a 200-rule list and 1,000 rules on consecutive minors (one range block), beside load + attach of a minimal 2-instruction cgroup
// device program measured in the same run; and the instruction count beside runc's formula. Also
// what a hook does for runc's spec with and without a host deny (one program either way: the deny is a prefix block).
import { mkdirSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import { AttachFlag, AttachType, BpfProgram, ProgType, progAttach } from "../../lib/bpf/index.ts";
import { assemble, Exit, Mov32Imm, R0 } from "../../lib/bpf/asm/index.ts";
import {
  Emulator, RUNC_ALLOWED_DEVICES, attachContainerFilter, attachDeviceFilter, compileDeviceFilter, detachDeviceFilters,
  type DevicePolicy, type DeviceRule,
} from "../../lib/devices/index.ts";
import { containerDeviceFilter } from "../../lib/lifecycle/devices.ts";
import { runcInstructionCount } from "../../bpf/devicefilter.ts";
import { O, close, open } from "../../lib/sys/index.ts";
import { median, ms, report, us } from "./util.ts";
import { cgroupMount } from "../../lib/cgroup/index.ts";

const ROUNDS = 60;

const cgroup2Root = () => cgroupMount().mountpoint;

const parent = join(cgroup2Root(), `hookshim-devbench-${process.pid}`);
mkdirSync(parent);
let n = 0;

/** Median of `f` run once per fresh cgroup; the cgroup is made and removed outside the timing. */
function perContainer(f: (dir: string) => void): number {
  const times: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const dir = join(parent, `c${++n}`);
    mkdirSync(dir);
    try {
      const t0 = Bun.nanoseconds();
      f(dir);
      times.push(Bun.nanoseconds() - t0);
    } finally {
      detachDeviceFilters(dir);
      rmdirSync(dir);
    }
  }
  return median(times);
}

const defaultList: DeviceRule[] = [{ allow: false, type: "a", access: "rwm" }, ...RUNC_ALLOWED_DEVICES];
const accesses = ["rwm", "rw", "r", "m", "w"];
const bigList: DeviceRule[] = [
  { allow: false, type: "a", access: "rwm" },
  ...Array.from({ length: 200 }, (_, i): DeviceRule => ({
    allow: true,
    type: i % 3 ? "c" : "b",
    major: 1 + (i % 40),
    minor: i % 7 === 0 ? null : 1000 + i,
    access: accesses[i % accesses.length]!,
  })),
];

// what startup.bench.ts's large config.json holds: c 200:0 … c 200:999 rw
const consecutiveMinors: DeviceRule[] = [
  { allow: false, type: "a", access: "rwm" },
  ...Array.from({ length: 1000 }, (_, i): DeviceRule => ({ allow: true, type: "c", major: 200, minor: i, access: "rw" })),
];

try {
  const minimal = assemble([Mov32Imm(R0, 1), Exit()]);
  const baseline = perContainer((dir) => {
    const prog = BpfProgram.load({ type: ProgType.CGROUP_DEVICE, instructions: minimal, name: "bench_min" });
    const fd = open(dir, O.RDONLY | O.DIRECTORY);
    try {
      progAttach({ targetFd: fd, progFd: prog.fd, attachType: AttachType.CGROUP_DEVICE, flags: AttachFlag.ALLOW_MULTI });
    } finally {
      close(fd);
      prog.close();
    }
  });

  const lists = [["runc default list (11 rules)", defaultList], ["200-rule list", bigList], ["1,000 rules, consecutive minors", consecutiveMinors]] as const;
  for (const [name, rules] of lists) {
    const compileTimes: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const t0 = Bun.nanoseconds();
      compileDeviceFilter(Emulator.fromRules(rules));
      compileTimes.push(Bun.nanoseconds() - t0);
    }
    const whole = perContainer((dir) => attachDeviceFilter(dir, compileDeviceFilter(Emulator.fromRules(rules))));
    const compiled = compileDeviceFilter(Emulator.fromRules(rules));
    report(`device filter, ${name}`, [
      ["baseline: load+attach 2-insn program", ms(baseline)],
      ["compile (emulate, reduce, assemble)", us(median(compileTimes))],
      ["compile+load+attach per container", ms(whole)],
      ["  / baseline", `${(whole / baseline).toFixed(2)}x`],
      ["instructions (hookshim)", String(compiled.instructions.length)],
      ["instructions (runc: 6 + blocks + 2)", String(runcInstructionCount(compiled.reduced))],
    ]);
  }

  const runcSpec = { linux: { resources: { devices: [{ allow: false, access: "rwm" }] } } };
  const noPolicy: DevicePolicy = { rules: [], requests: { allowed: false, permitted: [] } };
  const hostDeny: DevicePolicy = { rules: [{ allow: false, type: "c", major: 10, minor: 200, access: "rwm" }], requests: { allowed: false, permitted: [] } };
  const containerOnly = perContainer((dir) => attachContainerFilter(dir, containerDeviceFilter(runcSpec, noPolicy)));
  const withHost = perContainer((dir) => attachContainerFilter(dir, containerDeviceFilter(runcSpec, hostDeny)));
  report("hook's device program, runc spec", [
    ["baseline: load+attach 2-insn program", ms(baseline)],
    ["no host deny: compile+load+attach", ms(containerOnly)],
    ["one host deny (prefix block): compile+load+attach", ms(withHost)],
    ["  / no host deny", `${(withHost / containerOnly).toFixed(2)}x`],
    ["instructions, no host deny", String(containerDeviceFilter(runcSpec, noPolicy).compiled.instructions.length)],
    ["instructions, one host deny", String(containerDeviceFilter(runcSpec, hostDeny).compiled.instructions.length)],
  ]);
} finally {
  for (let i = 1; i <= n; i++) {
    try {
      rmdirSync(join(parent, `c${i}`));
    } catch {}
  }
  try {
    rmdirSync(parent);
  } catch {}
}
