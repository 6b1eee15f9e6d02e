// Start-up cost of the processes on the container start path (issue 14), each beside a baseline
// measured in the same run, variants interleaved so drift hits them alike:
//   bun floor      a compiled Bun program that only reads stdin: the least a Bun process costs
//   pass-through   `hookshim-runtime ARGS` against `runc ARGS` for --version, list, state, kill,
//                  delete, start (aim: the shim adds at most 1.2x the floor)
//   shim create    the shim's own work with /bin/true as the lower runtime (runtime.path), so runc's
//                  time is not in it: empty hooks.d, 5 matching files, 1 vs 100 files, config.json
//                  with 10 vs 1,000 mounts and device rules (aims: 1.5x the floor empty, 2x with 5)
//   hook prestart  `hookshim hook prestart` run directly on a sleeping process in a cgroup of its
//                  own: an empty store vs 4,000 containers, 10 vs 1,000 device rules; time and peak
//                  RSS (aim: RSS at most 1.3x the floor's), RSS from copies on a tmpfs of 4 KiB
//                  pages, as the LTS kernels users run cache a binary (measureRss says why); the
//                  minor page faults of those runs, and the instructions each executes (valgrind's
//                  callgrind, when installed: a count that does not move with the machine's load).
//                  The per-hook time on a real `runc run` is hooks.bench.ts.
// Each time is given as wall time and as CPU time (user + system of the process and the children it
// waited for): on a machine shared with other work the CPU figures move far less with the load.
// Needs root, runc, cgroup v2 and bpf. Uses its own store, cgroup parent and temp dir; removes them.
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { mount, umount } from "../../lib/sys/index.ts";
import { CgroupManager } from "../../lib/cgroup/index.ts";
import { newContainerRecord, openStore, resetStore } from "../../lib/store/index.ts";
import { compile, compileFloor } from "../support/build.ts";
import { RUNC } from "../support/bundle.ts";
import { removeGroupEverywhere } from "../support/runtime-cgroups.ts";
import { cpuNs, median, ms, report } from "./util.ts";

const ROUNDS = Number(process.env.STARTUP_ROUNDS ?? 30);
const tmp = mkdtempSync(join(tmpdir(), `startup-bench-${process.pid}-`));
const parent = `/hookshim-bench-startup-${process.pid}`;
const stores = { empty: `startup-empty-${process.pid}`, full: `startup-full-${process.pid}` };

interface Variant {
  name: string;
  argv: string[];
  stdin?: () => string;
  env?: Record<string, string>;
  /** runs before each timed run (not timed); its result is handed to after */
  before?: () => unknown;
  after?: (v: unknown) => void | Promise<void>;
  /** a non-zero exit is what this variant expects (runc state of no container) */
  anyExit?: boolean;
}

interface Figures {
  times: number[];
  cpu: number[];
  rss: number[];
  /** minor page faults (GNU time's %R), in "rss" mode */
  faults: number[];
  /** instructions executed in user space (callgrind), in "instructions" mode */
  instructions: number[];
}

// Peak RSS comes from GNU time's %M: ru_maxrss survives exec, so a child forked by this (large) Bun
// process would report this process's size; time forks from a small one.
const TIME = "/usr/bin/time";
// Instructions from valgrind's callgrind: the same count for the same binary and input whatever else
// the machine is doing, where the times here move by a fifth from one run to the next.
const VALGRIND = Bun.which("valgrind");

async function measure(variants: Variant[], mode: "time" | "rss" | "instructions" = "time", rounds = ROUNDS): Promise<Map<string, Figures>> {
  const out = new Map<string, Figures>(variants.map((v) => [v.name, { times: [], cpu: [], rss: [], faults: [], instructions: [] }]));
  const callgrindOut = join(tmp, "callgrind.out");
  for (let round = -1; round < rounds; round++)
    for (const v of variants) {
      const ctx = v.before?.();
      const input = Buffer.from(v.stdin?.() ?? "");
      const argv =
        mode === "rss" ? [TIME, "-f", "maxrss %M minflt %R", ...v.argv]
        : mode === "instructions" ? [VALGRIND!, "--tool=callgrind", `--callgrind-out-file=${callgrindOut}`, ...v.argv]
        : v.argv;
      const t0 = Bun.nanoseconds();
      const p = Bun.spawnSync(argv, { stdin: input, stdout: "ignore", stderr: "pipe", env: { ...process.env, ...v.env } });
      const dt = Bun.nanoseconds() - t0;
      await v.after?.(ctx);
      if (p.exitCode !== 0 && !v.anyExit) throw new Error(`${v.name}: exit ${p.exitCode}: ${p.stderr.toString().trim()}`);
      if (round < 0) continue; // warm-up: page cache, store creation, exit program load
      out.get(v.name)!.times.push(dt);
      out.get(v.name)!.cpu.push(cpuNs(p));
      const stderr = p.stderr.toString();
      const kib = /maxrss (\d+)/.exec(stderr)?.[1];
      out.get(v.name)!.rss.push(kib ? Number(kib) * 1024 : NaN);
      const faults = /minflt (\d+)/.exec(stderr)?.[1];
      out.get(v.name)!.faults.push(faults ? Number(faults) : NaN);
      if (mode === "instructions") {
        const total = /^summary: (\d+)$/m.exec(readFileSync(callgrindOut, "utf8"))?.[1];
        out.get(v.name)!.instructions.push(total ? Number(total) : NaN);
        rmSync(callgrindOut);
      }
    }
  return out;
}

/**
 * Peak RSS of `variants`, run from copies of `executables` on a tmpfs of 4 KiB pages (huge=never).
 * RSS counts the file pages a process maps, and a fault maps the whole page-cache folio it hits.
 * Where the build's filesystem keeps large folios (ext4 on this project's 6.18 build machines:
 * FileHugePages in /proc/meminfo), how much of a file one fault maps depends on how the file was
 * written and read before. The LTS kernels users run (ext4, tmpfs) cache 4 KiB pages and map at most
 * the 64 KiB around a fault (fault_around_bytes), as this tmpfs does. Measured on one build, a hook
 * and the floor: 34.5 and 22.8 MiB here, 34.6 and 23.0 MiB in the 6.1 VM lane, 34.6 and 22.9 MiB in
 * the 6.12 lane; 38.9 and 29.3 MiB from bun build's output as it was written (the hook 34.3 once
 * that file was evicted from the page cache and read back by exec).
 */
async function measureRss(variants: Variant[], executables: string[]): Promise<Map<string, Figures>> {
  const dir = join(tmp, "rss");
  mkdirSync(dir);
  mount("tmpfs", dir, "tmpfs", 0, "huge=never,size=1g");
  try {
    const copies = new Map(executables.map((e) => [e, join(dir, basename(e))]));
    for (const [from, to] of copies) copyFileSync(from, to), chmodSync(to, 0o755);
    return await measure(variants.map((v) => ({ ...v, argv: v.argv.map((a) => copies.get(a) ?? a) })), "rss", 5);
  } finally {
    umount(dir);
  }
}

const med = (f: Map<string, Figures>, n: string) => median(f.get(n)!.times);
const cpu = (f: Map<string, Figures>, n: string) => median(f.get(n)!.cpu);
const ratio = (x: number, floor: number) => `${(x / floor).toFixed(2)}x floor`;


function bundle(name: string, mounts: number, rules: number): string {
  const dir = join(tmp, name);
  mkdirSync(dir);
  const devices = [{ allow: false, access: "rwm" }];
  for (let i = 0; i < rules; i++) devices.push({ allow: true, type: "c", major: 200, minor: i, access: "rw" } as never);
  writeFileSync(join(dir, "config.json"), JSON.stringify({
    ociVersion: "1.0.2",
    process: { args: ["true"], cwd: "/", user: { uid: 0, gid: 0 } },
    root: { path: "rootfs" },
    mounts: Array.from({ length: mounts }, (_, i) => ({ destination: `/mnt/m${i}`, type: "tmpfs", source: "tmpfs", options: ["nosuid"] })),
    annotations: { "io.kubernetes.cri.container-name": "bench" },
    linux: { resources: { devices }, namespaces: [{ type: "mount" }] },
  }));
  return dir;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.log("startup bench: needs root (runc, cgroups, bpf); skipped");
    return;
  }
  const floor = compileFloor(tmp);
  const exe = join(tmp, "hookshim");
  const built = compile(exe);
  if (!built.ok) throw new Error(`building hookshim: ${built.error}`);
  const shim = join(tmp, "hookshim-runtime");
  symlinkSync(exe, shim);
  const floorV: Variant = { name: "bun floor", argv: [floor], stdin: () => "{}" };

  // ---- pass-through ----
  const runcRoot = join(tmp, "runc-root");
  const passArgs: [string, string[]][] = [
    ["--version", ["--version"]],
    ["list", ["--root", runcRoot, "list"]],
    ["state", ["--root", runcRoot, "state", "nope"]],
    ["kill", ["--root", runcRoot, "kill", "nope", "KILL"]],
    ["delete", ["--root", runcRoot, "delete", "nope"]],
    ["start", ["--root", runcRoot, "start", "nope"]],
  ];
  const passEnv = { HOOKSHIM_CONFIG: join(tmp, "pass.json") };
  writeFileSync(passEnv.HOOKSHIM_CONFIG, JSON.stringify({ runtime: { path: RUNC } }));
  const pass = await measure([
    floorV,
    ...passArgs.flatMap(([n, a]): Variant[] => [
      { name: `runc ${n}`, argv: [RUNC, ...a], anyExit: true },
      { name: `shim ${n}`, argv: [shim, ...a], env: passEnv, anyExit: true },
    ]),
  ]);
  const f1 = med(pass, "bun floor");
  report(`pass-through: the shim's added time over runc, median of ${ROUNDS} interleaved runs (aim <= 1.2x floor)`, [
    ["bun floor", `${ms(f1)}; cpu ${ms(cpu(pass, "bun floor"))}`],
    ...passArgs.map(([n]): [string, string] => {
      const added = med(pass, `shim ${n}`) - med(pass, `runc ${n}`);
      const addedCpu = cpu(pass, `shim ${n}`) - cpu(pass, `runc ${n}`);
      return [
        `runc ${n} -> shim`,
        `${ms(med(pass, `runc ${n}`))} -> ${ms(med(pass, `shim ${n}`))}  added ${ms(added)} = ${ratio(added, f1)}; cpu added ${ms(addedCpu)} = ${ratio(addedCpu, cpu(pass, "bun floor"))}`,
      ];
    }),
  ]);

  // ---- shim create with /bin/true below it ----
  const hooksDir = (name: string, n: number, matching: boolean) => {
    const dir = join(tmp, name);
    mkdirSync(dir);
    for (let i = 0; i < n; i++)
      writeFileSync(join(dir, `${String(i).padStart(3, "0")}.json`), JSON.stringify({
        version: "1.0.0",
        hook: { path: "/bin/true", args: ["true", String(i)] },
        when: matching ? { always: true } : { annotations: { "^never$": "x" } },
        stages: ["prestart"],
      }));
    return dir;
  };
  const shimConfig = (name: string, dirs: string[]) => {
    const file = join(tmp, `${name}.json`);
    writeFileSync(file, JSON.stringify({ hooksDirs: dirs, runtime: { path: "/bin/true" } }));
    return file;
  };
  const small = bundle("small", 10, 10);
  const large = bundle("large", 1000, 1000);
  const original = new Map<string, string>([small, large].map((b) => [b, readFileSync(join(b, "config.json"), "utf8")]));
  const restore = (b: string) => () => writeFileSync(join(b, "config.json"), original.get(b)!);
  const create = (name: string, config: string, b = small): Variant => ({
    name, argv: [shim, "create", "--bundle", b, `id-${name.replace(/\W/g, "")}`], env: { HOOKSHIM_CONFIG: config }, before: restore(b),
  });
  const empty = shimConfig("empty", [hooksDir("hooks-empty", 0, true)]);
  const five = shimConfig("five", [hooksDir("hooks-5", 5, true)]);
  const one = shimConfig("one", [hooksDir("hooks-1", 1, false)]);
  const hundred = shimConfig("hundred", [hooksDir("hooks-100", 100, false)]);
  const shimRuns = await measure([
    floorV,
    create("empty hooks.d", empty),
    create("5 matching hooks.d files", five),
    create("1 hooks.d file (not matching)", one),
    create("100 hooks.d files (not matching)", hundred),
    create("config.json: 10 mounts, 10 device rules", empty, small),
    create("config.json: 1,000 mounts, 1,000 device rules", empty, large),
  ]);
  const f2 = med(shimRuns, "bun floor");
  const row = (n: string): [string, string] => [
    n,
    `${ms(med(shimRuns, n))} = ${ratio(med(shimRuns, n), f2)}; cpu ${ms(cpu(shimRuns, n))} = ${ratio(cpu(shimRuns, n), cpu(shimRuns, "bun floor"))}`,
  ];
  report(`shim create with /bin/true as the lower runtime (its own work), median of ${ROUNDS} (aims: empty <= 1.5x, 5 files <= 2x floor)`, [
    ["bun floor", `${ms(f2)}; cpu ${ms(cpu(shimRuns, "bun floor"))}`],
    row("empty hooks.d"),
    row("5 matching hooks.d files"),
    row("1 hooks.d file (not matching)"),
    row("100 hooks.d files (not matching)"),
    row("config.json: 10 mounts, 10 device rules"),
    row("config.json: 1,000 mounts, 1,000 device rules"),
  ]);

  // ---- hook prestart, run directly ----
  const parentGroup = CgroupManager.create(parent);
  const full = openStore(stores.full);
  for (let i = 0; i < 4000; i++) full.putContainer(newContainerRecord({ id: `filler-${i}`, name: "filler", state: "stopped", runtime: "runc", stoppedNs: 1n }));
  full.close();
  const hookConfig = (name: string, store: string) => {
    const file = join(tmp, `hook-${name}.json`);
    writeFileSync(file, JSON.stringify({ store, cgroupParent: parent, failMode: "closed", logLevel: "warn" }));
    return file;
  };
  const cEmpty = hookConfig("empty", stores.empty);
  const cFull = hookConfig("full", stores.full);
  let n = 0;
  const prestart = (name: string, config: string, b: string): Variant => {
    let current = { pid: 0, group: undefined as CgroupManager | undefined, p: undefined as ReturnType<typeof Bun.spawn> | undefined, id: "" };
    return {
      name,
      argv: [exe, "--config", config, "hook", "prestart"],
      before: () => {
        const p = Bun.spawn(["sleep", "1000"], { stdio: ["ignore", "ignore", "ignore"] });
        const group = parentGroup.newChild(`c${++n}`);
        group.addProc(p.pid);
        current = { pid: p.pid, group, p, id: `startup-${process.pid}-${n}` };
        return current;
      },
      stdin: () => JSON.stringify({ ociVersion: "1.0.2", id: current.id, status: "created", pid: current.pid, bundle: b }),
      after: async () => {
        current.p!.kill(9);
        await current.p!.exited;
        await current.group!.delete();
      },
    };
  };
  try {
    const hookVariants = [
      floorV,
      prestart("prestart, empty store", cEmpty, small),
      prestart("prestart, 4,000 containers in the store", cFull, small),
      prestart("prestart, 1,000 device rules and mounts", cEmpty, large),
    ];
    const hooks = await measure(hookVariants);
    const f3 = med(hooks, "bun floor");
    const peaks = existsSync(TIME) ? await measureRss(hookVariants, [floor, exe]) : undefined;
    const rss = (name: string) => (peaks ? median(peaks.get(name)!.rss) : NaN);
    const faults = (name: string) => (peaks ? median(peaks.get(name)!.faults) : NaN);
    // one run each under valgrind after a warm-up run: the count does not vary
    const counted = VALGRIND ? await measure(hookVariants, "instructions", 1) : undefined;
    const instructions = (name: string) => (counted ? counted.get(name)!.instructions[0]! : NaN);
    const mega = (n: number) => `${(n / 1e6).toFixed(1)} M`;
    const hrow = (name: string): [string, string] => [
      name,
      `${ms(med(hooks, name))} = ${ratio(med(hooks, name), f3)}; cpu ${ms(cpu(hooks, name))} = ${ratio(cpu(hooks, name), cpu(hooks, "bun floor"))}; ` +
        `peak RSS ${(rss(name) / 1024 / 1024).toFixed(1)} MiB = ${ratio(rss(name), rss("bun floor"))}; ` +
        `page faults ${faults(name)} = ${ratio(faults(name), faults("bun floor"))}` +
        (counted ? `; instructions ${mega(instructions(name))} = ${ratio(instructions(name), instructions("bun floor"))}` : ""),
    ];
    report(`hook prestart run directly (no runtime), median of ${ROUNDS} (aim: peak RSS <= 1.3x floor)`, [
      [
        "bun floor",
        `${ms(f3)}; cpu ${ms(cpu(hooks, "bun floor"))}; peak RSS ${(rss("bun floor") / 1024 / 1024).toFixed(1)} MiB; ` +
          `page faults ${faults("bun floor")}` + (counted ? `; instructions ${mega(instructions("bun floor"))}` : "; instructions: valgrind not installed"),
      ],
      hrow("prestart, empty store"),
      hrow("prestart, 4,000 containers in the store"),
      hrow("prestart, 1,000 device rules and mounts"),
    ]);
  } finally {
    await parentGroup.delete().catch(() => removeGroupEverywhere(parent));
  }
}

try {
  await main();
} finally {
  for (const s of Object.values(stores)) resetStore(s);
  rmSync(tmp, { recursive: true, force: true });
}
