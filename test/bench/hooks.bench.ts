// What hookshim's hooks add to a container start, measured with `runc run` of a busybox `true`
// container, the variants interleaved over 30 rounds so drift hits them all alike:
//   none        no hooks
//   /bin/true   as prestart and poststop: the cost of running any hook at all
//   bun floor   a compiled Bun program that only reads stdin, as both hooks: the least a Bun hook costs
//   hookshim    the compiled hookshim's prestart and poststop (device filter, store, exit tracking)
// Reported: the median per hook over /bin/true for the floor and for hookshim, and their ratio
// (the aim: hookshim within 1.5x of the floor), in wall time and in CPU time (runc's rusage holds
// its hooks', which it waits for; the CPU figures move far less with a shared machine's load). Needs root and runc. Uses its own store and cgroup
// parent and removes both.
import { mkdtempSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";

import { busyboxRootfs, hookshim, hookshimExecutable, runcBundle, writeTestConfig, removeRuncRun } from "../e2e/hooks-harness.ts";
import { RUNC } from "../support/bundle.ts";
import { cpuNs, median, ms, report } from "./util.ts";
import { compileFloor } from "../support/build.ts";

const ROUNDS = 30;
const tmp = mkdtempSync(join(tmpdir(), `hooks-bench-${process.pid}-`));
const parent = `/hookshim-bench-hooks-${process.pid}`;
const store = `hooks-bench-${process.pid}`;
const runcRoot = join(tmp, "runc-root");


async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.log("hooks bench: needs root (runc, cgroups, bpf); skipped");
    return;
  }
  const exe = hookshimExecutable(tmp);
  if (!exe.compiled) console.log(`hooks bench: compiled build failed (${exe.buildError}); hookshim runs from sources through ${exe.path}: its figure is not the binary's`);
  const floor = compileFloor(tmp);
  const rootfs = busyboxRootfs(tmp);
  const config = writeTestConfig(join(tmp, "config.json"), { store, cgroupParent: parent });

  const hooked = (path: string, stageArgs: (stage: string) => string[]) => ({
    prestart: [{ path, args: stageArgs("prestart") }],
    poststop: [{ path, args: stageArgs("poststop") }],
  });
  const variants: { name: string; hooks?: object; viaInstall?: boolean }[] = [
    { name: "none" },
    { name: "/bin/true", hooks: hooked("/bin/true", () => ["true"]) },
    { name: "bun floor", hooks: hooked(floor, () => ["floor"]) },
    { name: "hookshim", viaInstall: true },
  ];
  const bundles = new Map<string, string>();
  for (const v of variants) {
    const id = `bench-${v.name.replace(/\W/g, "")}`;
    const bundle = runcBundle(tmp, id, rootfs, ["true"], `${parent}/${id}`);
    if (v.hooks) {
      const file = join(bundle, "config.json");
      const cfg = JSON.parse(await Bun.file(file).text());
      cfg.hooks = v.hooks;
      writeFileSync(file, JSON.stringify(cfg));
    }
    if (v.viaInstall) {
      const r = await hookshim(["--config", config, "install", "--bundle", bundle, "--binary", exe.path]);
      if (r.code !== 0) throw new Error(`install --bundle: ${r.err}`);
    }
    bundles.set(v.name, bundle);
  }

  const times = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  const cpus = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  // one unmeasured round: page cache, the store's first creation and exit program load
  for (let round = -1; round < ROUNDS; round++) {
    for (const v of variants) {
      const id = `b${round + 1}-${v.name.replace(/\W/g, "")}`;
      const t0 = Bun.nanoseconds();
      // synchronous: the rusage of runc and of what it waited for (its hooks, the container)
      const r = Bun.spawnSync([RUNC, "--root", runcRoot, "run", "--bundle", bundles.get(v.name)!, id], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
      const dt = Bun.nanoseconds() - t0;
      if (r.exitCode !== 0) throw new Error(`runc run (${v.name}): exit ${r.exitCode}: ${r.stderr.toString().trim()}`);
      if (round >= 0) {
        times.get(v.name)!.push(dt);
        cpus.get(v.name)!.push(cpuNs(r));
      }
    }
  }

  const med = (n: string) => median(times.get(n)!);
  const perHook = (n: string) => (med(n) - med("/bin/true")) / 2;
  const cpu = (n: string) => median(cpus.get(n)!);
  const perHookCpu = (n: string) => (cpu(n) - cpu("/bin/true")) / 2;
  report(`runc run of a busybox true container, median of ${ROUNDS} interleaved runs`, [
    ...variants.map((v): [string, string] => [v.name, ms(med(v.name))]),
    ["per hook over /bin/true: bun floor", ms(perHook("bun floor"))],
    [`per hook over /bin/true: hookshim${exe.compiled ? "" : " (from sources)"}`, ms(perHook("hookshim"))],
    ["hookshim / floor (aim <= 1.5)", (perHook("hookshim") / perHook("bun floor")).toFixed(2)],
    ...variants.map((v): [string, string] => [`${v.name}, cpu`, ms(cpu(v.name))]),
    ["cpu per hook over /bin/true: bun floor", ms(perHookCpu("bun floor"))],
    ["cpu per hook over /bin/true: hookshim", ms(perHookCpu("hookshim"))],
    ["cpu: hookshim / floor (aim <= 1.5)", (perHookCpu("hookshim") / perHookCpu("bun floor")).toFixed(2)],
  ]);
}

try {
  await main();
} finally {
  await removeRuncRun({ runcRoot, parent, store, tmp });
}
