// What the runtime shim adds to a container start. Standalone: bun test/bench/shim.bench.ts (root,
// runc, busybox). Interleaved rounds of `runc run` of a busybox `true` container:
//   runc           runc directly (the baseline, measured in the same run)
//   shim, empty    through the shim, an empty hooks.d: argv, config, bundle read, exec
//   shim, 5 hooks  through the shim, 5 matching hooks.d files (/bin/true prestart): + write + hooks
// Each round restores the bundle's original config.json before timing, so every shim run injects
// and writes afresh. The shim is the compiled binary when the tree builds, else `bun main.ts`.
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { median, ms, percentile, report } from "./util.ts";
import { compile } from "../support/build.ts";

const BUN = join(import.meta.dir, "../../node_modules/.bin/bun");
const CLI = join(import.meta.dir, "../../main.ts");
const RUNC = "/usr/sbin/runc";
const ROUNDS = 25;
const tmp = mkdtempSync(join(tmpdir(), `shim-bench-${process.pid}-`));

try {
  const compiled = join(tmp, "hookshim-runtime");
  const built = compile(compiled).ok;
  // named hookshim-runtime, the compiled binary is the shim by its name
  const shimArgv = built ? [compiled] : [BUN, CLI, "runtime"];

  const rootfs = join(tmp, "rootfs");
  mkdirSync(join(rootfs, "bin"), { recursive: true });
  copyFileSync("/bin/busybox", join(rootfs, "bin/busybox"));
  symlinkSync("busybox", join(rootfs, "bin/true"));
  const bundle = join(tmp, "bundle");
  mkdirSync(bundle);
  if (Bun.spawnSync([RUNC, "spec", "--bundle", bundle]).exitCode !== 0) throw new Error("runc spec failed");
  const cfg = JSON.parse(readFileSync(join(bundle, "config.json"), "utf8"));
  cfg.process.terminal = false;
  cfg.process.args = ["/bin/true"];
  cfg.root = { path: rootfs, readonly: true };
  const original = JSON.stringify(cfg, null, "\t");

  const config = (dirs: string[]) => {
    const file = join(tmp, `config-${dirs.length}.json`);
    writeFileSync(file, JSON.stringify({ hooksDirs: dirs }));
    return file;
  };
  const empty = join(tmp, "hooks-empty");
  mkdirSync(empty);
  const five = join(tmp, "hooks-5");
  mkdirSync(five);
  for (let i = 0; i < 5; i++)
    writeFileSync(join(five, `${i}.json`), JSON.stringify({ version: "1.0.0", hook: { path: "/bin/true", args: ["true", String(i)] }, when: { always: true }, stages: ["prestart"] }));

  const variants: { name: string; argv: string[]; env: Record<string, string> }[] = [
    { name: "runc", argv: [RUNC], env: {} },
    { name: "shim, empty hooks.d", argv: shimArgv, env: { HOOKSHIM_CONFIG: config([empty]) } },
    { name: "shim, 5 hooks.d files", argv: shimArgv, env: { HOOKSHIM_CONFIG: config([five]) } },
  ];
  const times = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  const runcRoot = join(tmp, "runc-root");
  let n = 0;
  // one untimed warm-up each (page cache, first cgroup creation)
  for (let round = -1; round < ROUNDS; round++)
    for (const v of variants) {
      writeFileSync(join(bundle, "config.json"), original);
      const id = `shim-bench-${process.pid}-${++n}`;
      const t0 = Bun.nanoseconds();
      const p = Bun.spawnSync([...v.argv, "--root", runcRoot, "run", "--bundle", bundle, id], { env: { ...process.env, ...v.env }, stdout: "ignore", stderr: "pipe" });
      const dt = Bun.nanoseconds() - t0;
      if (p.exitCode !== 0) throw new Error(`${v.name}: exit ${p.exitCode}: ${p.stderr}`);
      if (round >= 0) times.get(v.name)!.push(dt);
    }

  const base = median(times.get("runc")!);
  report(`runc run of a busybox true container, ${ROUNDS} interleaved rounds (shim: ${built ? "compiled binary" : "bun main.ts"})`, [
    ...variants.map((v): [string, string] => {
      const t = times.get(v.name)!;
      const added = v.name === "runc" ? "baseline" : `+${ms(median(t) - base)} per start`;
      return [v.name, `median ${ms(median(t))}  p90 ${ms(percentile(t, 90))}  ${added}`];
    }),
  ]);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
