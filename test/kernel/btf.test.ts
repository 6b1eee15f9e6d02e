// BTF offsets from lib/bpf/btf.ts against what bpftool reports for the running kernel.
import { describe, expect } from "bun:test";
import { Btf, BtfError, BtfKind, kernelBtf } from "../../lib/bpf/btf.ts";
import { needs } from "../support/prereq.ts";

const gated = needs("btf", "bpftool");

/** bpftool's raw dump: member bit offsets of a struct, by member name. */
let dump: string[] | undefined;
function bpftoolMembers(structName: string): Map<string, number> {
  if (!dump) {
    const p = Bun.spawnSync(["bpftool", "btf", "dump", "file", "/sys/kernel/btf/vmlinux", "format", "raw"], {
      stdout: "pipe",
    });
    if (p.exitCode !== 0) throw new Error(`bpftool btf dump failed: ${p.stderr.toString()}`);
    dump = p.stdout.toString().split("\n");
  }
  const lines = dump;
  const start = lines.findIndex((l) => new RegExp(`^\\[\\d+\\] (STRUCT|UNION) '${structName}' size=\\d+ vlen=[1-9]`).test(l));
  if (start < 0) throw new Error(`bpftool has no struct ${structName}`);
  const out = new Map<string, number>();
  for (let i = start + 1; i < lines.length && lines[i]!.startsWith("\t"); i++) {
    const m = /^\t'([^']*)' type_id=\d+ bits_offset=(\d+)/.exec(lines[i]!);
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

describe("kernel BTF", () => {
  gated("member offsets equal bpftool's", () => {
    const btf = kernelBtf();
    const cases: [string, string[]][] = [
      ["task_struct", ["exit_code", "start_boottime", "pid", "tgid", "real_parent", "nsproxy", "thread_pid"]],
      ["nsproxy", ["pid_ns_for_children", "mnt_ns"]],
      ["pid_namespace", ["ns"]],
      ["ns_common", ["inum"]],
      ["pid", ["level", "numbers"]],
      ["upid", ["nr", "ns"]],
    ];
    for (const [struct, members] of cases) {
      const ref = bpftoolMembers(struct);
      for (const m of members) {
        expect(ref.has(m)).toBe(true);
        expect(btf.memberOffset(struct, m) * 8).toBe(ref.get(m)!);
      }
    }
  });

  gated("nested paths, sizes, type ids and clear errors", () => {
    const btf = kernelBtf();
    expect(btf.memberOffset("pid_namespace", "ns.inum")).toBe(
      btf.memberOffset("pid_namespace", "ns") + btf.memberOffset("ns_common", "inum"),
    );
    expect(btf.structSize("upid")).toBe(16);
    expect(btf.memberSize("task_struct", "comm")).toBe(16);
    expect(btf.kind(btf.findTypeId("task_struct"))).toBe(BtfKind.STRUCT);
    expect(btf.kind(btf.findTypeId("do_exit", BtfKind.FUNC))).toBe(BtfKind.FUNC);
    expect(() => btf.memberOffset("task_struct", "no_such_member")).toThrow("has no member no_such_member");
    expect(() => btf.memberOffset("no_such_struct_hookshim", "x")).toThrow(BtfError);
    expect(() => new Btf(new Uint8Array(64), "junk")).toThrow("junk: not BTF");
  });
});
