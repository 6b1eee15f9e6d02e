// The limits hookshim writes (lib/cgroup, from a config's linux.resources as the hooks convert them)
// checked by what the kernel does with them, not by reading the files back: memory.max ends in an
// OOM kill counted in memory.events, pids.max refuses a fork, cpu.max throttles. Pure cgroup v2
// hosts only: the hybrid host's v2 tree has none of these controllers.
import { afterAll, expect } from "bun:test";
import { readFileSync } from "node:fs";
import { CgroupManager, ociResourcesOf, toResources } from "../../lib/cgroup/index.ts";
import { describeNeeds, needs } from "../support/prereq.ts";
import { scaled } from "../support/time.ts";

const parent = `/hookshim-test-v2res-${process.pid}`;
let counter = 0;
const made: CgroupManager[] = [];

/** A group under the test parent with `linux.resources` applied the way the hooks apply them. */
function groupWith(resources: unknown): CgroupManager {
  const g = CgroupManager.create(`${parent}/g${++counter}`);
  made.push(g);
  const { skipped } = g.update(toResources(ociResourcesOf(resources)), { skipUnsupported: false });
  expect(skipped).toEqual([]);
  return g;
}

/** `sh -c SCRIPT` moved into the group before it runs anything (it waits for a line first). */
async function runIn(g: CgroupManager, script: string): Promise<{ code: number; err: string }> {
  const p = Bun.spawn(["/bin/sh", "-c", `read x; ${script}`], { stdin: "pipe", stdout: "ignore", stderr: "pipe" });
  g.addProc(p.pid);
  p.stdin.write("go\n");
  await p.stdin.end();
  const [code, err] = await Promise.all([p.exited, new Response(p.stderr).text()]);
  return { code, err };
}

function keyed(g: CgroupManager, file: string): Record<string, number> {
  return Object.fromEntries(
    readFileSync(`${g.path}/${file}`, "utf8").trim().split("\n").map((l) => {
      const [k, v] = l.split(" ");
      return [k!, Number(v)];
    }),
  );
}

describeNeeds(["root", "cgroup2-pure"], "limits on pure cgroup v2, by their effects", () => {
  afterAll(async () => {
    for (const g of made.reverse()) await g.delete().catch(() => {});
    await CgroupManager.load(parent).delete().catch(() => {});
  });
  const test = needs("root", "cgroup2-pure");

  test("memory.limit (memory.max, no swap) ends a process that outgrows it in an OOM kill", async () => {
    const g = groupWith({ memory: { limit: 32 * 1024 * 1024, swap: 32 * 1024 * 1024 } });
    expect(readFileSync(`${g.path}/memory.max`, "utf8").trim()).toBe(String(32 * 1024 * 1024));
    // a 96 MB shell variable
    const r = await runIn(g, 'x=$(head -c 100000000 /dev/zero | tr "\\0" a); echo ${#x}');
    expect(r.code).toBe(137); // SIGKILL from the OOM killer
    expect(keyed(g, "memory.events").oom_kill).toBeGreaterThanOrEqual(1);
  }, scaled(30_000));

  test("pids.limit (pids.max) refuses the fork past it", async () => {
    const g = groupWith({ pids: { limit: 4 } });
    const r = await runIn(g, "for i in 1 2 3 4 5 6 7 8; do sleep 2 & done; wait");
    expect(r.err).toMatch(/can't fork|Resource temporarily unavailable|fork/);
    expect(keyed(g, "pids.events").max).toBeGreaterThanOrEqual(1);
  }, scaled(30_000));

  test("cpu quota/period (cpu.max) throttles a busy loop", async () => {
    const g = groupWith({ cpu: { quota: 10_000, period: 100_000 } });
    expect(readFileSync(`${g.path}/cpu.max`, "utf8").trim()).toBe("10000 100000");
    const r = await runIn(g, "end=$(($(date +%s) + 2)); while [ $(date +%s) -lt $end ]; do :; done");
    expect(r.code).toBe(0);
    const stat = keyed(g, "cpu.stat");
    expect(stat.nr_throttled).toBeGreaterThan(0);
    expect(stat.throttled_usec).toBeGreaterThan(0);
  }, scaled(30_000));
});
