// What a hook pays to find task_struct offsets in /sys/kernel/btf/vmlinux through lib/bpf/btf.ts,
// against plain readFileSync of the same file in the same run (the floor: the kernel copies out
// every byte). The first call in the process is shown apart: a hook is a fresh process.
import { existsSync, readFileSync } from "node:fs";
import { Btf } from "../../lib/bpf/btf.ts";
import { median, ms, report, rounds, us } from "./util.ts";

const FILE = "/sys/kernel/btf/vmlinux";
const MEMBERS = ["exit_code", "start_boottime", "tgid", "pid"];
const ROUNDS = 31;

if (!existsSync(FILE)) {
  console.log(`skipped: no ${FILE}`);
  process.exit(0);
}

function offsets(btf: Btf): number[] {
  return MEMBERS.map((m) => btf.memberOffset("task_struct", m));
}

/** ns for one call of f */
function time(f: () => unknown): number {
  const t0 = Bun.nanoseconds();
  f();
  return Bun.nanoseconds() - t0;
}

let first: number[] = [];
const firstNs = time(() => (first = offsets(Btf.loadKernel(FILE))));

const read = median(rounds(ROUNDS, () => time(() => readFileSync(FILE))));
const load = median(rounds(ROUNDS, () => time(() => offsets(Btf.loadKernel(FILE)))));
const data = readFileSync(FILE);
const parseOnly = median(rounds(ROUNDS, () => time(() => offsets(new Btf(data, FILE)))));
const warm = Btf.loadKernel(FILE);
offsets(warm);
const cached = median(rounds(ROUNDS, () => time(() => offsets(warm))));
const full = median(rounds(5, () => time(() => new Btf(data, FILE).count)));

report(`task_struct ${MEMBERS.map((m, i) => `${m}@${first[i]}`).join(" ")} (${data.byteLength} bytes of BTF, median of ${ROUNDS})`, [
  ["readFileSync (baseline)", ms(read)],
  ["load + resolve 4 members", ms(load)],
  ["ratio", `${(load / read).toFixed(2)}x baseline`],
  ["of which index + resolve (file in memory)", ms(parseOnly)],
  ["resolve again on a loaded Btf (cached names)", us(cached)],
  ["index every type (Btf.count)", ms(full)],
  ["first load + resolve in the process", ms(firstNs)],
]);
