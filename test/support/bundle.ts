// A busybox root filesystem and runc bundles around it, for the tests that start real containers.
import { chmodSync, copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const RUNC = "/usr/sbin/runc";
export const CRUN = "/usr/bin/crun";

/** busybox with the applets the tests run, under DIR/rootfs. */
export function busyboxRootfs(dir: string): string {
  const root = join(dir, "rootfs");
  for (const d of ["bin", "proc", "dev", "sys", "tmp", "etc"]) mkdirSync(join(root, d), { recursive: true });
  copyFileSync("/bin/busybox", join(root, "bin/busybox"));
  chmodSync(join(root, "bin/busybox"), 0o755);
  for (const a of ["sh", "head", "true", "sleep", "cat"]) symlinkSync("busybox", join(root, "bin", a));
  return root;
}

/**
 * `runc spec` (or `crun spec`: `runtime`) in DIR/<id> with the busybox rootfs, `args`, no terminal
 * and the cgroupsPath given.
 */
export function runcBundle(dir: string, id: string, rootfs: string, args: string[], cgroupsPath: string, runtime = RUNC): string {
  const bundle = join(dir, id);
  mkdirSync(bundle, { recursive: true });
  const spec = Bun.spawnSync([runtime, "spec"], { cwd: bundle });
  if (spec.exitCode !== 0) throw new Error(`${runtime} spec: ${spec.stderr}`);
  const cfg = JSON.parse(readFileSync(join(bundle, "config.json"), "utf8"));
  cfg.root = { path: rootfs, readonly: true };
  cfg.process.args = args;
  cfg.process.terminal = false;
  cfg.linux.cgroupsPath = cgroupsPath;
  writeFileSync(join(bundle, "config.json"), JSON.stringify(cfg));
  return bundle;
}
