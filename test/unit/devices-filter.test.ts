// The device filter program without the kernel: runc-style golden disassembly, instruction counts
// against runc's formula, decompilation round trips, and the devices CLI's offline commands.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { And32Imm, assemble, decode, disassemble, Exit, Jump32Imm, JumpImm, JumpOp, Mov32Imm, Mov32Reg, R0, R2, R3, R4, R5 } from "../../lib/bpf/asm/index.ts";
import {
  ContainerDevices, Emulator, RUNC_ALLOWED_DEVICES, compileDeviceFilter, decisionsOf, emulatorFromFilter, hostDenyBlocks, normalizeRules,
  type DeviceRule,
} from "../../lib/devices/index.ts";
import {
  decompileDeviceFilter, deviceFilterInstructions, hostDenyInstructionCount, runcInstructionCount, NotADeviceFilterError,
} from "../../bpf/devicefilter.ts";
import { PROBE_DEVICES, randomRuleSet, seededRandom } from "../support/devicerules.ts";

const MAIN = join(import.meta.dir, "../../main.ts");
const FIXTURES = join(import.meta.dir, "../../../shared/fixtures/bundles");

/** runc's golden comparison: trimmed lines, blank and // comment lines dropped. */
function normalize(s: string): string {
  return s
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("//"))
    .join("\n");
}

function disasm(rules: DeviceRule[]): string {
  return normalize(disassemble(compileDeviceFilter(Emulator.fromRules(rules)).instructions));
}

/**
 * Compile and read back: the emulator's exceptions, each decided as v1 does, in no more
 * instructions than runc's program; and the read-back rules decide as the emulator at `probes`.
 */
function roundTrip(emu: Emulator, probes: readonly { type: "b" | "c"; major: number; minor: number }[]) {
  const compiled = compileDeviceFilter(emu);
  // runc's count, plus the access test runc leaves out of an rwm deny block (v1 lets F_OK through)
  const rwmDenies = compiled.reduced.defaultAllow ? compiled.reduced.exceptions.filter((e) => e.access === 7).length : 0;
  expect(compiled.instructions.length).toBeLessThanOrEqual(runcInstructionCount(compiled.reduced) + 3 * rwmDenies);
  const back = decompileDeviceFilter(decode(compiled.bytes));
  expect(back.defaultAllow).toBe(compiled.reduced.defaultAllow);
  expect(back.blocks.map(({ type, major, minor, access }) => ({ type, major, minor, access }))).toEqual(compiled.reduced.exceptions);
  expect(back.blocks.every((b) => b.v1)).toBe(true);
  const again = emulatorFromFilter(back);
  for (const d of probes)
    for (let a = 0; a <= 7; a++) expect(again.allows(d.type, d.major, d.minor, a)).toBe(emu.allows(d.type, d.major, d.minor, a));
  return { compiled, back };
}

const PROLOGUE = `
// load parameters into registers
0: LdXMemW dst: r2 src: r1 off: 0 imm: 0
1: AndImm32 dst: r2 imm: 65535
2: LdXMemW dst: r3 src: r1 off: 0 imm: 0
3: RShImm32 dst: r3 imm: 16
4: LdXMemW dst: r4 src: r1 off: 4 imm: 0
5: LdXMemW dst: r5 src: r1 off: 8 imm: 0`;

/**
 * Allow all but one device: a deny block that tests the access overlap (JEqImm 0), even for rwm
 * where runc tests nothing, so a request with no bits (F_OK) passes as in v1.
 */
const allowAllButOne = (type: number, access: number, major: number, minor: number) => `${PROLOGUE}
block-0:
6: JNEImm dst: r2 off: -1 imm: ${type} <block-1>
7: MovReg32 dst: r1 src: r3
8: AndImm32 dst: r1 imm: ${access}
9: JEqImm dst: r1 off: -1 imm: 0 <block-1>
10: JNEImm dst: r4 off: -1 imm: ${major} <block-1>
11: JNEImm dst: r5 off: -1 imm: ${minor} <block-1>
12: MovImm32 dst: r0 imm: 0
13: Exit
block-1:
14: MovImm32 dst: r0 imm: 1
15: Exit`;

describe("golden programs (runc's devicefilter_test cases)", () => {
  test("nil: deny everything", () => {
    expect(disasm([])).toBe(normalize(`${PROLOGUE}
block-0:
6: MovImm32 dst: r0 imm: 0
7: Exit`));
  });

  test("privileged: allow everything", () => {
    expect(disasm([{ allow: true, type: "a", major: null, minor: null, access: "rwm" }])).toBe(normalize(`${PROLOGUE}
block-0:
6: MovImm32 dst: r0 imm: 1
7: Exit`));
  });

  test("privileged except one device", () => {
    expect(disasm([{ allow: true, type: "a", access: "rwm" }, { allow: false, type: "b", major: 8, minor: 0, access: "rwm" }])).toBe(normalize(allowAllButOne(1, 7, 8, 0)));
  });

  test("weird: an a rule in the middle drops what came before", () => {
    const rules: DeviceRule[] = [
      { allow: false, type: "b", major: 8, minor: 1, access: "rwm" },
      { allow: true, type: "a", access: "rwm" },
      { allow: false, type: "b", major: 8, minor: 2, access: "rwm" },
    ];
    expect(disasm(rules)).toBe(normalize(allowAllButOne(1, 7, 8, 2)));
  });

  test("runc's built-in allow list: sorted blocks, allow blocks test a subset, c 1:7-9 one range block (55 instructions, runc 64)", () => {
    const rules: DeviceRule[] = [{ allow: false, access: "rwm" }, ...RUNC_ALLOWED_DEVICES];
    expect(runcInstructionCount(Emulator.fromRules(rules).reduced())).toBe(64);
    const text = disasm(rules);
    const block = (n: number, pc: number, type: number, major: number, minor: number) =>
      `block-${n}:
${pc}: JNEImm dst: r2 off: -1 imm: ${type} <block-${n + 1}>
${pc + 1}: JNEImm dst: r4 off: -1 imm: ${major} <block-${n + 1}>
${pc + 2}: JNEImm dst: r5 off: -1 imm: ${minor} <block-${n + 1}>
${pc + 3}: MovImm32 dst: r0 imm: 1
${pc + 4}: Exit`;
    expect(text).toBe(normalize(`${PROLOGUE}
block-0:
// (b, wildcard, wildcard, m, allow)
6: JNEImm dst: r2 off: -1 imm: 1 <block-1>
7: MovReg32 dst: r1 src: r3
8: AndImm32 dst: r1 imm: 1
9: JNEReg dst: r1 off: -1 src: r3 <block-1>
10: MovImm32 dst: r0 imm: 1
11: Exit
block-1:
12: JNEImm dst: r2 off: -1 imm: 2 <block-2>
13: MovReg32 dst: r1 src: r3
14: AndImm32 dst: r1 imm: 1
15: JNEReg dst: r1 off: -1 src: r3 <block-2>
16: MovImm32 dst: r0 imm: 1
17: Exit
${block(2, 18, 2, 1, 3)}
${block(3, 23, 2, 1, 5)}
block-4:
// /dev/full, /dev/random, /dev/urandom (c, 1, 7..9, rwm, allow): one range block
28: JNEImm dst: r2 off: -1 imm: 2 <block-5>
29: JNEImm dst: r4 off: -1 imm: 1 <block-5>
30: JLTImm dst: r5 off: -1 imm: 7 <block-5>
31: JGTImm dst: r5 off: -1 imm: 9 <block-5>
32: MovImm32 dst: r0 imm: 1
33: Exit
${block(5, 34, 2, 5, 0)}
${block(6, 39, 2, 5, 2)}
${block(7, 44, 2, 10, 200)}
block-8:
// /dev/pts (c, 136, wildcard, rwm, allow)
49: JNEImm dst: r2 off: -1 imm: 2 <block-9>
50: JNEImm dst: r4 off: -1 imm: 136 <block-9>
51: MovImm32 dst: r0 imm: 1
52: Exit
block-9:
53: MovImm32 dst: r0 imm: 0
54: Exit`));
  });

  test("a partial deny on allow-all tests overlap (JEqImm 0), not runc's subset", () => {
    expect(disasm([{ allow: true, type: "a" }, { allow: false, type: "c", major: 1, minor: 3, access: "w" }])).toBe(normalize(allowAllButOne(2, 4, 1, 3)));
  });
});

describe("host deny prefix: one program, the host's denies first", () => {
  const hostRules = (rules: DeviceRule[]) =>
    normalizeRules(rules, "policy.rules").map((r, i) => ({ ...r, source: `policy.rules[${i}]` }));

  test("golden: one deny block per host rule (access overlap in r0), then the container's blocks", () => {
    const denies = hostDenyBlocks(hostRules([
      { allow: false, type: "c", major: 10, minor: 200, access: "rwm" },
      { allow: false, type: "b", major: 8, minor: null, access: "w" },
    ]));
    expect(denies.map((d) => d.source)).toEqual(["policy.rules[0]", "policy.rules[1]"]);
    const compiled = compileDeviceFilter(Emulator.fromRules([{ allow: true, type: "c", major: 1, minor: 3, access: "rwm" }]), denies);
    expect(normalize(disassemble(compiled.instructions))).toBe(normalize(`${PROLOGUE}
host-0:
6: JNEImm dst: r2 off: -1 imm: 2 <host-1>
7: MovReg32 dst: r0 src: r3
8: AndImm32 dst: r0 imm: 7
9: JEqImm dst: r0 off: -1 imm: 0 <host-1>
10: JNEImm dst: r4 off: -1 imm: 10 <host-1>
11: JNEImm dst: r5 off: -1 imm: 200 <host-1>
12: MovImm32 dst: r0 imm: 0
13: Exit
host-1:
14: JNEImm dst: r2 off: -1 imm: 1 <block-0>
15: MovReg32 dst: r0 src: r3
16: AndImm32 dst: r0 imm: 4
17: JEqImm dst: r0 off: -1 imm: 0 <block-0>
18: JNEImm dst: r4 off: -1 imm: 8 <block-0>
19: MovImm32 dst: r0 imm: 0
20: Exit
block-0:
21: JNEImm dst: r2 off: -1 imm: 2 <block-1>
22: JNEImm dst: r4 off: -1 imm: 1 <block-1>
23: JNEImm dst: r5 off: -1 imm: 3 <block-1>
24: MovImm32 dst: r0 imm: 1
25: Exit
block-1:
26: MovImm32 dst: r0 imm: 0
27: Exit`));
    // the prefix costs exactly its blocks; the rest is the container's program as it was
    expect(compiled.instructions.length).toBe(hostDenyInstructionCount(denies) + compileDeviceFilter(Emulator.fromRules([{ allow: true, type: "c", major: 1, minor: 3, access: "rwm" }])).instructions.length);
    expect(hostDenyInstructionCount(denies)).toBe(15);
  });

  test("a type a host deny is a b block and a c block, every access, any numbers", () => {
    expect(hostDenyBlocks(hostRules([{ allow: false, type: "a", access: "rwm" }]))).toEqual([
      { type: "b", major: -1, minor: -1, access: 7, source: "policy.rules[0]" },
      { type: "c", major: -1, minor: -1, access: 7, source: "policy.rules[0]" },
    ]);
  });

  test("seeded random host denies over random container lists: read back as a prefix, deciding as host-then-v1 (F_OK passes a deny)", () => {
    const rand = seededRandom(15);
    let checked = 0;
    for (let i = 0; i < 200; i++) {
      let devices: ContainerDevices;
      const host = hostRules(randomRuleSet(rand).map((r) => ({ ...r, allow: false, type: r.type === "a" || r.type === undefined ? "c" : r.type })).filter((r) => r.access !== ""));
      try {
        devices = ContainerDevices.fromRules(host, normalizeRules(randomRuleSet(rand)));
      } catch {
        continue;
      }
      const denies = hostDenyBlocks(host);
      const compiled = compileDeviceFilter(devices.container!, denies);
      const back = decompileDeviceFilter(decode(compiled.bytes));
      expect(back.hostDenies).toEqual(denies.map(({ type, major, minor, access }) => ({ type, major, minor, access })));
      expect(back.blocks.map(({ type, major, minor, access }) => ({ type, major, minor, access }))).toEqual(compiled.reduced.exceptions);
      const decides = decisionsOf(back);
      for (const d of PROBE_DEVICES)
        for (let a = 0; a <= 7; a++) {
          // v1 semantics of the host list, then the container's: a request with no bits passes every host deny
          const want = a === 0 ? devices.container!.allows(d.type, d.major, d.minor, 0) : devices.allows(d.type, d.major, d.minor, a);
          expect(decides.allows(d.type, d.major, d.minor, a)).toBe(want);
        }
      checked++;
    }
    expect(checked).toBeGreaterThan(50);
  });

  test("a host block after the container's blocks is refused: the prefix is only ever first", () => {
    const prologue = deviceFilterInstructions({ defaultAllow: false, exceptions: [] }).slice(0, 6);
    const insns = [
      ...prologue,
      JumpImm(JumpOp.JNE, R2, 2, "block-1").withSymbol("block-0"), JumpImm(JumpOp.JNE, R4, 1, "block-1"), JumpImm(JumpOp.JNE, R5, 3, "block-1"),
      Mov32Imm(R0, 1), Exit(),
      JumpImm(JumpOp.JNE, R2, 2, "block-2").withSymbol("block-1"), Mov32Reg(R0, R3), And32Imm(R0, 2), JumpImm(JumpOp.JEq, R0, 0, "block-2"),
      Mov32Imm(R0, 0), Exit(),
      Mov32Imm(R0, 0).withSymbol("block-2"), Exit(),
    ];
    expect(() => decompileDeviceFilter(decode(assemble(insns)))).toThrow(/a host deny block after the exceptions/);
  });
});

describe("instruction counts and decompilation", () => {
  test("seeded random rule sets: never more instructions than runc, decompiled rules decide the same", () => {
    const rand = seededRandom(77);
    let checked = 0;
    for (let i = 0; i < 300; i++) {
      let emu: Emulator;
      try {
        emu = Emulator.fromRules(randomRuleSet(rand));
      } catch {
        continue;
      }
      roundTrip(emu, PROBE_DEVICES);
      checked++;
    }
    expect(checked).toBeGreaterThan(100);
  });

  test("a request with no access bits (access(2) F_OK): v1's answer; runc's untested deny block is flagged (issue 15 #16)", () => {
    // default allow, every access to c 1:3 denied: v1 still lets F_OK through
    const emu = Emulator.fromRules([{ allow: true, type: "a" }, { allow: false, type: "c", major: 1, minor: 3, access: "rwm" }]);
    expect(emu.allows("c", 1, 3, 0)).toBe(true);
    expect(emu.allows("c", 1, 3, 2)).toBe(false);
    const back = decompileDeviceFilter(decode(compileDeviceFilter(emu).bytes));
    expect(back.blocks).toEqual([{ type: "c", major: 1, minor: 3, access: 7, allow: false, test: "overlap", v1: true }]);
    // runc's shape for the same rule: no access test, so it denies F_OK too
    const runcShape = deviceFilterInstructions({ defaultAllow: false, exceptions: [] }).slice(0, 6);
    const runc = [
      ...runcShape,
      JumpImm(JumpOp.JNE, R2, 2, "block-1").withSymbol("block-0"), JumpImm(JumpOp.JNE, R4, 1, "block-1"), JumpImm(JumpOp.JNE, R5, 3, "block-1"),
      Mov32Imm(R0, 0), Exit(), Mov32Imm(R0, 1).withSymbol("block-1"), Exit(),
    ];
    expect(decompileDeviceFilter(decode(assemble(runc))).blocks[0]).toMatchObject({ allow: false, test: "none", v1: false });
    // default deny: F_OK passes where an exception names the device, as in v1
    const deny = Emulator.fromRules([{ allow: false, type: "a" }, { allow: true, type: "c", major: 1, minor: 3, access: "r" }]);
    expect(deny.allows("c", 1, 3, 0)).toBe(true);
    expect(deny.allows("c", 1, 5, 0)).toBe(false);
  });

  test("device numbers past 2^31 are compared in 32 bits and read back", () => {
    const spec = { defaultAllow: false, exceptions: [{ type: "c" as const, major: 0x80000001, minor: 0xfffffffe, access: 7 }] };
    const back = decompileDeviceFilter(decode(assemble(deviceFilterInstructions(spec))));
    expect(back.blocks[0]).toMatchObject({ major: 0x80000001, minor: 0xfffffffe });
  });

  test("a program of another shape is not mistaken for a device filter", () => {
    const insns = deviceFilterInstructions({ defaultAllow: false, exceptions: [] });
    expect(() => decompileDeviceFilter(decode(assemble(insns.slice(1))))).toThrow(NotADeviceFilterError);
    expect(() => decompileDeviceFilter(decode(assemble([...insns, Mov32Imm(R0, 0), Exit()])))).toThrow(/after the default verdict/);
  });
});

describe("minor ranges: a run of consecutive minors is one block", () => {
  const run = (major: number, minors: number[], access = "rw"): DeviceRule[] =>
    minors.map((minor) => ({ allow: true, type: "c", major, minor, access }));
  const range = (lo: number, hi: number) => Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
  const denyAll: DeviceRule = { allow: false, type: "a", access: "rwm" };
  /** Exception blocks of a program (block-N labels, less the default's). */
  const blocksOf = (insns: { symbol?: string }[]) => insns.filter((i) => i.symbol?.startsWith("block-")).length - 1;
  /** roundTrip of the rules, probed at (type, major, minor) triples, and the program's text. */
  function rangeTrip(rules: DeviceRule[], probes: [type: "b" | "c", major: number, minor: number][]) {
    const r = roundTrip(Emulator.fromRules(rules), probes.map(([type, major, minor]) => ({ type, major, minor })));
    return { ...r, text: normalize(disassemble(r.compiled.instructions)) };
  }

  test("10 and 1,000 consecutive minors make the same 16-instruction program (runc: 88 and 8,008), read back as 1,000 exceptions", () => {
    const sizes = [2, 10, 1000].map((n) => {
      const { compiled, back } = rangeTrip([denyAll, ...run(200, range(0, n - 1))], [["c", 200, 0], ["c", 200, n - 1], ["c", 200, n], ["c", 201, 0]]);
      expect(back.blocks).toHaveLength(n);
      expect(blocksOf(compiled.instructions)).toBe(1);
      return [compiled.instructions.length, runcInstructionCount(compiled.reduced)];
    });
    expect(sizes).toEqual([[16, 24], [16, 88], [16, 8008]]);
    // the same under default allow: one deny block for 1,000 partial denies
    const { compiled } = rangeTrip([{ allow: true, type: "a" }, ...run(200, range(1, 1000)).map((r) => ({ ...r, allow: false, access: "w" }))], [["c", 200, 0], ["c", 200, 1], ["c", 200, 1000], ["c", 200, 1001]]);
    expect(compiled.instructions.length).toBe(17);
  });

  test("golden: lo..hi as minor < lo and minor > hi jumping to the next block; lo 0 has no lower test", () => {
    const { text } = rangeTrip([denyAll, ...run(200, range(0, 2)), ...run(200, range(5, 7), "r")], []);
    expect(text).toBe(normalize(`${PROLOGUE}
block-0:
6: JNEImm dst: r2 off: -1 imm: 2 <block-1>
7: MovReg32 dst: r1 src: r3
8: AndImm32 dst: r1 imm: 6
9: JNEReg dst: r1 off: -1 src: r3 <block-1>
10: JNEImm dst: r4 off: -1 imm: 200 <block-1>
11: JGTImm dst: r5 off: -1 imm: 2 <block-1>
12: MovImm32 dst: r0 imm: 1
13: Exit
block-1:
14: JNEImm dst: r2 off: -1 imm: 2 <block-2>
15: MovReg32 dst: r1 src: r3
16: AndImm32 dst: r1 imm: 2
17: JNEReg dst: r1 off: -1 src: r3 <block-2>
18: JNEImm dst: r4 off: -1 imm: 200 <block-2>
19: JLTImm dst: r5 off: -1 imm: 5 <block-2>
20: JGTImm dst: r5 off: -1 imm: 7 <block-2>
21: MovImm32 dst: r0 imm: 1
22: Exit
block-2:
23: MovImm32 dst: r0 imm: 0
24: Exit`));
  });

  test("a gap, another access, another major, another type or a wildcard major splits a run; one rule stays a != block", () => {
    const cases: [string, DeviceRule[], number][] = [
      ["gap", [...run(1, [3, 4, 5]), ...run(1, [7, 8])], 2],
      ["access", [...run(1, [3, 4, 5]), ...run(1, [6, 7], "r")], 2],
      ["major", [...run(1, [3, 4]), ...run(2, [5, 6])], 2],
      ["type", [...run(1, [3, 4]), ...run(1, [5, 6]).map((r) => ({ ...r, type: "b" as const }))], 2],
      ["wildcard major", [...run(-1, [3, 4]).map((r) => ({ ...r, major: null }))], 2],
      ["single minors", run(1, [3, 5, 7]), 3],
      ["a wildcard minor is its own block", [{ allow: true, type: "c", major: 1, minor: null, access: "r" }, ...run(1, [0, 1])], 2],
    ];
    for (const [name, rules, blocks] of cases) {
      const probes = [1, 2, -1].flatMap((ma) => range(0, 9).flatMap((mi): [("b" | "c"), number, number][] => [["c", ma < 0 ? 5 : ma, mi], ["b", ma < 0 ? 5 : ma, mi]]));
      const { compiled } = rangeTrip([denyAll, ...rules], probes);
      expect({ name, blocks: blocksOf(compiled.instructions) }).toEqual({ name, blocks });
    }
    expect(disasm([denyAll, ...run(1, [3])])).toContain("JNEImm dst: r5 off: -1 imm: 3");
  });

  test("minors around 0x7fffffff and 0xffffffff: a bound past 2^31 is a JMP32 compare (its immediate would sign-extend), read back", () => {
    const across = range(0x7ffffffe, 0x80000001);
    const top = range(0xfffffffc, 0xfffffffe);
    const { text, compiled } = rangeTrip([denyAll, ...run(0x80000000, across), ...run(0x80000000, top)], [
      ...[0x7ffffffd, ...across, 0x80000002, 0xfffffffb, ...top, 0xffffffff].map((mi): ["c", number, number] => ["c", 0x80000000, mi]),
    ]);
    expect(blocksOf(compiled.instructions)).toBe(2);
    expect(text).toContain("JLTImm dst: r5 off: -1 imm: 2147483646 <block-1>");
    expect(text).toContain("JGT32Imm dst: r5 off: -1 imm: -2147483647 <block-1>");
    expect(text).toContain("JLT32Imm dst: r5 off: -1 imm: -4 <block-2>");
    expect(text).toContain("JGT32Imm dst: r5 off: -1 imm: -2 <block-2>");
  });

  test("seeded random dense rule sets (runs, gaps, wildcards, mixed access): never more instructions than runc, decompiled rules decide the same", () => {
    const rand = seededRandom(4242);
    const bits = () => 1 + Math.floor(rand() * 7);
    const accessText = (b: number) => (b & 1 ? "r" : "") + (b & 2 ? "w" : "") + (b & 4 ? "m" : "");
    const probes = (["b", "c"] as const).flatMap((type) => range(0, 3).flatMap((major) => range(0, 12).map((minor) => ({ type, major, minor }))));
    let checked = 0;
    let ranged = 0;
    for (let i = 0; i < 200; i++) {
      const rules: DeviceRule[] = [{ allow: rand() < 0.3, type: "a" }];
      for (let n = 1 + Math.floor(rand() * 20); n > 0; n--) {
        const major = rand() < 0.1 ? null : 1 + Math.floor(rand() * 2);
        const minor = rand() < 0.1 ? null : Math.floor(rand() * 8);
        // several minors in a row with one access, now and then
        const len = rand() < 0.3 ? 1 + Math.floor(rand() * 4) : 1;
        const access = accessText(bits());
        for (let k = 0; k < len; k++)
          rules.push({ allow: rand() < 0.7, type: rand() < 0.5 ? "b" : "c", major, minor: minor === null ? null : minor + k, access });
      }
      let emu: Emulator;
      try {
        emu = Emulator.fromRules(rules);
      } catch {
        continue;
      }
      const { compiled } = roundTrip(emu, probes);
      if (blocksOf(compiled.instructions) < compiled.reduced.exceptions.length) ranged++;
      checked++;
    }
    expect(checked).toBeGreaterThan(100);
    expect(ranged).toBeGreaterThan(25);
  });

  test("a range the way back cannot read is refused: a lower bound alone, or more exceptions than a config could make", () => {
    const prologue = deviceFilterInstructions({ defaultAllow: false, exceptions: [] }).slice(0, 6);
    const block = (...minorTest: ReturnType<typeof JumpImm>[]) => [
      ...prologue,
      JumpImm(JumpOp.JNE, R2, 2, "block-1").withSymbol("block-0"), JumpImm(JumpOp.JNE, R4, 1, "block-1"), ...minorTest,
      Mov32Imm(R0, 1), Exit(), Mov32Imm(R0, 0).withSymbol("block-1"), Exit(),
    ];
    expect(() => decompileDeviceFilter(decode(assemble(block(JumpImm(JumpOp.JLT, R5, 3, "block-1")))))).toThrow(/upper bound/);
    expect(() => decompileDeviceFilter(decode(assemble(block(Jump32Imm(JumpOp.JGT, R5, -2, "block-1")))))).toThrow(/more than 1048576 exceptions/);
    expect(decompileDeviceFilter(decode(assemble(block(JumpImm(JumpOp.JLT, R5, 3, "block-1"), JumpImm(JumpOp.JGT, R5, 4, "block-1"))))).blocks.map((b) => b.minor)).toEqual([3, 4]);
  });
});

describe("hookshim devices CLI (no kernel)", () => {
  async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
    const p = Bun.spawn([process.execPath, MAIN, ...args], { stdout: "pipe", stderr: "pipe", env: { ...process.env, HOOKSHIM_CONFIG: "" } });
    const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]);
    return { code: await p.exited, out, err };
  }
  const dir = mkdtempSync(join(tmpdir(), "hookshim-devcli-"));
  const file = (name: string, content: unknown) => {
    const p = join(dir, name);
    writeFileSync(p, JSON.stringify(content));
    return p;
  };

  test("compile --rules prints the disassembly; --format json the instruction objects", async () => {
    const rules = file("priv.json", [{ allow: true, type: "a", access: "rwm" }, { allow: false, type: "b", major: 8, minor: 0, access: "rwm" }]);
    const asm = await cli("devices", "compile", "--rules", rules);
    expect(asm.code).toBe(0);
    expect(normalize(asm.out)).toContain("block-0:\n6: JNEImm dst: r2 off: -1 imm: 1 <block-1>");
    const json = await cli("devices", "compile", "--rules", rules, "--format", "json");
    expect(json.code).toBe(0);
    const insns = JSON.parse(json.out);
    expect(insns).toHaveLength(16);
    expect(insns[6]).toMatchObject({ opcode: 0x55, dst: 2, constant: 1, symbol: "block-0", reference: "block-1" });
  });

  test("check answers from the emulator: allow or deny", async () => {
    const cfg = join(FIXTURES, "containerd-1.6.json");
    expect((await cli("devices", "check", "--config", cfg, "--device", "c 1:3", "--access", "rw")).out.trim()).toBe("allow");
    expect((await cli("devices", "check", "--config", cfg, "--device", "c 10:229", "--access", "r")).out.trim()).toBe("deny");
    const partial = file("partial.json", [{ allow: true, type: "a" }, { allow: false, type: "c", major: 1, minor: 3, access: "w" }]);
    expect((await cli("devices", "check", "--rules", partial, "--device", "c 1:3", "--access", "rw")).out.trim()).toBe("deny");
    expect((await cli("devices", "check", "--rules", partial, "--device", "c 1:3", "--access", "r")).out.trim()).toBe("allow");
  });

  test("check --config decides with the rules the hook attaches: the runtime's defaults and linux.devices (issue 15 #4)", async () => {
    const runc = join(FIXTURES, "runc-1.1-spec.json");
    // runc adds /dev/net/tun and mknod of anything to every container
    expect((await cli("devices", "check", "--config", runc, "--device", "c 10:200", "--access", "rw")).out.trim()).toBe("allow");
    expect((await cli("devices", "check", "--config", runc, "--device", "b 8:0", "--access", "m")).out.trim()).toBe("allow");
    expect((await cli("devices", "check", "--config", runc, "--device", "b 8:0", "--access", "r")).out.trim()).toBe("deny");
    // a device node the config creates is allowed, as runc allows it
    const withNode = file("node.json", { ...JSON.parse(readFileSync(runc, "utf8")), linux: { ...JSON.parse(readFileSync(runc, "utf8")).linux, devices: [{ path: "/dev/sda", type: "b", major: 8, minor: 0 }] } });
    expect((await cli("devices", "check", "--config", withNode, "--device", "b 8:0", "--access", "rw")).out.trim()).toBe("allow");
  });

  test("bad input exits 2 with one line naming the file and the rule index", async () => {
    const hole = file("hole.json", [{ allow: false, type: "a" }, { allow: true, type: "c", access: "rwm" }, { allow: false, type: "c", major: 1, minor: 3, access: "r" }]);
    const r = await cli("devices", "compile", "--rules", hole);
    expect(r.code).toBe(2);
    expect(r.err.trim().split("\n")).toHaveLength(1);
    expect(r.err).toMatch(new RegExp(`^hookshim: ${hole}: rules\\[2\\] \\(deny c 1:3 r\\): cannot be represented`));
    const badType = file("type.json", [{ allow: true, type: "z" }]);
    expect((await cli("devices", "check", "--rules", badType, "--device", "c 1:3", "--access", "r")).err).toContain("rules[0]: type");
    expect((await cli("devices", "check", "--rules", hole, "--device", "c 1", "--access", "r")).code).toBe(2);
    expect((await cli("devices", "compile")).code).toBe(2);
    expect((await cli("devices", "compile", "--rules", join(dir, "missing.json"))).err).toContain("missing.json: cannot open");
  });

  test("a forbidden annotation request in --config is bad input naming the entry", async () => {
    const cfg = file("config.json", { ociVersion: "1.0.2", root: { path: "rootfs" }, linux: { resources: { devices: [{ allow: false, access: "rwm" }] } }, annotations: { "io.hookshim.devices": "c 10:229 rwm" } });
    const r = await cli("devices", "compile", "--config", cfg);
    expect(r.code).toBe(2);
    expect(r.err).toContain("io.hookshim.devices");
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));
});
