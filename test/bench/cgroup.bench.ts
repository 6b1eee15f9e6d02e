// Create + set resources + stat + delete for 1,000 cgroups through CgroupManager, against the same
// mkdir / write / readdir+read / rmdir sequence in C, both in this run.
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CgroupManager, MAX, resourceSettings, type Resources } from "../../lib/cgroup/index.ts";
import { median, ms, report, rounds, us } from "./util.ts";

const N = 1000;
const ROUNDS = 5;

if (process.getuid?.() !== 0) {
  console.log("cgroup bench: needs root (skipped)");
  process.exit(0);
}

const parent = CgroupManager.create(`/hookshim-bench-${process.pid}`);
// Whatever this v2 hierarchy accepts: core limits always, hugetlb where the root offers it.
const resources: Resources = { unified: { "cgroup.max.descendants": "10", "cgroup.max.depth": "2" } };
if (parent.rootControllers().includes("hugetlb")) resources.hugetlb = [{ pageSize: "2MB", max: MAX }];
const writes = resourceSettings(resources).flatMap((s) => [s.file, s.value]);

// The files stat() reads, taken from one group, so C reads the same ones.
const STAT_FILE = /^(cpu\.stat|(cpu|memory|io)\.pressure|memory\.(current|peak|swap\.current|swap\.peak|max|stat|events)|pids\.(current|max|peak)|io\.stat|rdma\.(current|max)|hugetlb\.[0-9]+[KMG]B\.(current|max|events))$/;
const sample = parent.newChild("sample", resources);
const reads = readdirSync(sample.path).filter((f) => STAT_FILE.test(f));
await sample.delete();

async function hookshim(): Promise<number> {
  const t0 = Bun.nanoseconds();
  for (let i = 0; i < N; i++) {
    const g = parent.newChild(`t${i}`, resources);
    g.stat();
    await g.delete();
  }
  return Bun.nanoseconds() - t0;
}

const dir = mkdtempSync(join(tmpdir(), "hookshim-bench-"));
try {
  const bin = join(dir, "cgroup_baseline");
  const cc = Bun.spawnSync(["cc", "-O2", "-o", bin, join(import.meta.dir, "cgroup_baseline.c")]);
  if (cc.exitCode !== 0) throw new Error(`cc failed: ${cc.stderr.toString()}`);
  const c = rounds(ROUNDS, () => {
    const p = Bun.spawnSync([bin, parent.path, String(N), String(writes.length / 2), ...writes, ...reads]);
    if (p.exitCode !== 0) throw new Error(`baseline failed: ${p.stderr.toString()}`);
    return Number(p.stdout.toString().trim());
  });
  const js: number[] = [];
  for (let r = 0; r < ROUNDS; r++) js.push(await hookshim());
  const cNs = median(c);
  const jsNs = median(js);
  report(`cgroup create + set + stat + delete, ${N} groups under ${parent.path} (median of ${ROUNDS})`, [
    ["writes per group", resourceSettings(resources).map((s) => `${s.file}=${s.value}`).join(", ")],
    ["reads per group", `readdir + ${reads.length} files`],
    ["C (mkdir/write/read/rmdir)", `${ms(cNs)}  (${us(cNs / N)} per group)`],
    ["hookshim CgroupManager", `${ms(jsNs)}  (${us(jsNs / N)} per group)`],
    ["hookshim / C", `${(jsNs / cNs).toFixed(2)}x (aim <= 1.5x)`],
  ]);
} finally {
  rmSync(dir, { recursive: true, force: true });
  await parent.delete();
}
