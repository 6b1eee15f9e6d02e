// What the hook tests and the hook benchmark share: a busybox rootfs, runc bundles that run hookshim's
// hooks, the hookshim executable the runtimes call (the compiled binary, else a wrapper script), a
// per-test hookshim config, and runc under a private --root.
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { CgroupManager } from "../../lib/cgroup/index.ts";
import { openExistingStore, resetStore, type LifecycleEvent } from "../../lib/store/index.ts";
import { removeGroupEverywhere } from "../support/runtime-cgroups.ts";
import { join } from "node:path";

import { BUN, CLI, REPO, compile } from "../support/build.ts";

export { BUN, CLI, REPO };
export { busyboxRootfs, runcBundle, RUNC } from "../support/bundle.ts";
import { RUNC } from "../support/bundle.ts";


export interface HookshimExecutable {
  path: string;
  compiled: boolean;
  /** why the compiled build was not used */
  buildError?: string;
}

/**
 * The compiled hookshim (same flags as npm run build) in DIR; when the build fails, a wrapper script
 * that runs the sources with bun, with the reason kept for the report.
 */
export function hookshimExecutable(dir: string): HookshimExecutable {
  const out = join(dir, "hookshim");
  const build = compile(out);
  if (build.ok) return { path: out, compiled: true };
  const wrapper = join(dir, "hookshim-wrapper");
  writeFileSync(wrapper, `#!/bin/sh\nexec ${BUN} ${CLI} "$@"\n`, { mode: 0o755 });
  return { path: wrapper, compiled: false, buildError: build.error };
}

export interface TestConfig {
  store: string;
  cgroupParent: string;
  failMode?: "closed" | "open";
  logLevel?: "error" | "warn" | "info" | "debug";
  /** host policy rules */
  rules?: unknown[];
}

/** A hookshim config file; the default policy denies reading and writing /dev/zero. */
export function writeTestConfig(file: string, c: TestConfig): string {
  writeFileSync(file, JSON.stringify({
    store: c.store,
    cgroupParent: c.cgroupParent,
    failMode: c.failMode ?? "closed",
    logLevel: c.logLevel ?? "warn",
    devices: { rules: c.rules ?? [DENY_DEV_ZERO], requests: { allowed: false, permitted: [] } },
  }));
  return file;
}

// A host deny: a block ahead of the container's rules in its program, whatever those rules allow.
export const DENY_DEV_ZERO = { allow: false, type: "c", major: 1, minor: 5, access: "rw" };


export interface Ran {
  code: number;
  out: string;
  err: string;
}

export async function run(argv: string[], opts: { stdin?: string; cwd?: string } = {}): Promise<Ran> {
  const p = Bun.spawn(argv, {
    stdin: opts.stdin === undefined ? "ignore" : new TextEncoder().encode(opts.stdin),
    stdout: "pipe",
    stderr: "pipe",
    cwd: opts.cwd,
  });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, out, err };
}

export function runc(root: string, ...args: string[]): Promise<Ran> {
  return run([RUNC, "--root", root, ...args]);
}

/** `runc run --detach`: the container inherits runc's stdio, so nothing may be a pipe the test waits on. */
export async function runcDetached(root: string, bundle: string, id: string): Promise<number> {
  const p = Bun.spawn([RUNC, "--root", root, "run", "--detach", "--bundle", bundle, id], { stdio: ["ignore", "ignore", "ignore"] });
  return p.exited;
}

/** The events store STORE holds for container ID, oldest first. */
export function storeEvents(store: string, id: string): LifecycleEvent[] {
  const s = openExistingStore(store);
  try {
    return s.readEvents().events.map((e) => e.event).filter((e) => e.id === id);
  } finally {
    s.close();
  }
}

/** hookshim's CLI from the sources. */
export function hookshim(args: string[], stdin?: string): Promise<Ran> {
  return run([BUN, CLI, ...args], { stdin });
}

/**
 * What a hook test or benchmark made: every container under its runc root, its cgroup parent (v2 and
 * the v1 hierarchies runc also used), its store and its temporary directory.
 */
export async function removeRuncRun(o: { runcRoot: string; parent: string; store: string; tmp: string }): Promise<void> {
  const listed = await runc(o.runcRoot, "list", "-q");
  for (const id of listed.out.split("\n").filter(Boolean)) await runc(o.runcRoot, "delete", "-f", id);
  try {
    await CgroupManager.load(o.parent).delete();
  } catch {}
  removeGroupEverywhere(o.parent);
  resetStore(o.store);
  rmSync(o.tmp, { recursive: true, force: true });
}
