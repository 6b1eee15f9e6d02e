// The registry on this host's real cgroup hierarchy, with containers started by runc and podman.
import { expect, afterAll } from "bun:test";
import { mkdtempSync, mkdirSync, copyFileSync, symlinkSync, readFileSync, writeFileSync, rmSync, chmodSync, statSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { randomBytes } from "node:crypto";
import { describeNeeds, needs } from "../support/prereq.ts";
import { Registry, getContainerIdFromTaskDir } from "../../lib/containers/index.ts";
import { cgroupMount } from "../../lib/cgroup/index.ts";
import { rememberRuntimeCgroups } from "../support/runtime-cgroups.ts";
import { scaled } from "../support/time.ts";


const tmp = mkdtempSync(join(tmpdir(), `containers-kernel-${process.pid}-`));
const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  rmSync(tmp, { recursive: true, force: true });
});

let sharedRootfs: string | undefined;
/** one busybox rootfs for this file's containers */
function busyboxRootfs(): string {
  if (sharedRootfs) return sharedRootfs;
  const rootfs = join(tmp, "rootfs");
  for (const d of ["bin", "proc", "dev", "sys", "tmp", "etc"]) mkdirSync(join(rootfs, d), { recursive: true });
  copyFileSync("/bin/busybox", join(rootfs, "bin/busybox"));
  chmodSync(join(rootfs, "bin/busybox"), 0o755);
  for (const a of ["sh", "sleep", "true"]) symlinkSync("busybox", join(rootfs, "bin", a));
  return (sharedRootfs = rootfs);
}

function run(argv: string[]): string {
  const p = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(`${argv.join(" ")}: exit ${p.exitCode}: ${p.stderr.toString()}`);
  return p.stdout.toString().trim();
}

/** `runc run -d`: the container inherits its stdio, so pipes would stay open as long as it runs */
function runDetached(argv: string[]): void {
  const log = join(tmp, "detached.log");
  const p = Bun.spawnSync(argv, { stdout: Bun.file(log), stderr: Bun.file(log) });
  if (p.exitCode !== 0) throw new Error(`${argv.join(" ")}: exit ${p.exitCode}: ${readFileSync(log, "utf8")}`);
}

const hexId = () => randomBytes(32).toString("hex");

describeNeeds(["root", "cgroup2", "runc", "busybox"], "Registry with a runc container", () => {
  needs("root")("populate finds it under its cgroupsPath; task dir, mkdir/remove, BPF map and bundle agree", () => {
    const id = hexId();
    const parent = `/hookshim-test-containers-${process.pid}`;
    const runcRoot = join(tmp, "runc-root");
    const bundle = join(tmp, "bundle");
    mkdirSync(bundle);
    run(["runc", "spec", "--bundle", bundle]);
    const cfg = JSON.parse(readFileSync(join(bundle, "config.json"), "utf8"));
    cfg.root = { path: busyboxRootfs(), readonly: true };
    cfg.process.args = ["sleep", "60"];
    cfg.process.terminal = false;
    cfg.linux.cgroupsPath = `${parent}/${id}`;
    writeFileSync(join(bundle, "config.json"), JSON.stringify(cfg));
    cleanups.push(() => {
      Bun.spawnSync(["runc", "--root", runcRoot, "delete", "-f", id]);
      // runc removes the container's cgroups; the parents it made are ours to remove
      Bun.spawnSync(["/bin/sh", "-c", `find /sys/fs/cgroup -depth -type d -path '*${parent}*' -exec rmdir {} + 2>/dev/null; true`]);
    });
    const pidFile = join(tmp, "runc.pid");
    runDetached(["runc", "--root", runcRoot, "run", "-d", "--bundle", bundle, "--pid-file", pidFile, id]);
    const pid = Number(readFileSync(pidFile, "utf8"));

    const reg = new Registry();
    expect(reg.mountpoint).toBe(cgroupMount().mountpoint);
    expect(reg.populate()).toBeGreaterThan(1);
    const dir = join(reg.mountpoint, parent, id);
    const cgroupId = statSync(dir, { bigint: true }).ino;
    const mine = reg.containers().filter((c) => c.containerId === id);
    expect(mine).toHaveLength(1);
    // runc has no engine naming convention: a bare 64-hex id is "unknown", as in tracee
    expect(mine[0]).toMatchObject({ cgroupId, path: `${parent}/${id}`, runtime: "unknown", containerRoot: true, dead: false });
    expect(getContainerIdFromTaskDir(pid)).toEqual({ containerId: id, runtime: "unknown", containerRoot: true });
    expect(reg.findContainerCgroupID32LSB(id.slice(0, 12))).toEqual([Number(cgroupId & 0xffff_ffffn)]);

    const keys: bigint[] = [];
    reg.populateBpfMap({ update: (k) => void keys.push(new DataView(k.buffer, k.byteOffset).getBigUint64(0, true)) }, (c) => c.containerId === id);
    expect(keys).toEqual([cgroupId]);

    const fresh = new Registry({ bundleSearch: { runtimeRoots: [runcRoot], bundleParents: [] } });
    expect(fresh.cgroupMkdir(cgroupId, `${parent}/${id}`)).toMatchObject({ containerId: id, dead: false });
    expect(fresh.enrich(cgroupId)).toMatchObject({ bundle, metadata: {} });

    run(["runc", "--root", runcRoot, "delete", "-f", id]);
    fresh.cgroupRemove(cgroupId);
    expect(fresh.containers().some((c) => c.containerId === id)).toBe(false);
    expect(fresh.getCgroupInfo(cgroupId)).toMatchObject({ containerId: id, dead: true });
  }, scaled(60_000));
});

describeNeeds(["root", "cgroup2", "podman", "runc", "busybox"], "Registry with a podman container", () => {
  needs("root")("populate finds it as podman with its id; its bundle is podman's userdata", () => {
    const name = `hookshim-containers-${process.pid}`;
    cleanups.push(() => Bun.spawnSync(["podman", "rm", "-f", "-t", "0", name]));
    const rootfs = join(tmp, "podman-rootfs");
    mkdirSync(rootfs);
    // podman writes into its rootfs (/etc/hosts, ...): it gets its own copy
    run(["cp", "-a", busyboxRootfs(), "-T", rootfs]);
    run([
      "podman", "--cgroup-manager=cgroupfs", "--runtime=runc", "run", "-d", "--network=none", "--name", name,
      "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", "--rootfs", rootfs, "sleep", "60",
    ]);
    const id = run(["podman", "inspect", "-f", "{{.Id}}", name]);
    const pid = Number(run(["podman", "inspect", "-f", "{{.State.Pid}}", name]));

    const reg = new Registry();
    reg.populate();
    const mine = reg.containers().filter((c) => c.containerId === id);
    expect(mine).toHaveLength(1);
    expect(mine[0]!.runtime).toBe("podman");
    expect(mine[0]!.path.endsWith(`/libpod-${id}`)).toBe(true);
    expect(mine[0]!.cgroupId).toBe(statSync(join(reg.mountpoint, mine[0]!.path), { bigint: true }).ino);
    // podman's conmon sits in a cgroup of its own that is no container's
    expect(reg.containers().filter((c) => c.path.includes("conmon"))).toEqual([]);
    expect(getContainerIdFromTaskDir(pid)).toMatchObject({ containerId: id, runtime: "podman" });

    const enriched = reg.enrich(mine[0]!.cgroupId)!;
    expect(enriched.bundle).toEndWith(`/overlay-containers/${id}/userdata`);
    expect(enriched.metadata).toMatchObject({ manager: "libpod" });
  }, scaled(90_000));
});

// podman and containerd leave /libpod_parent and /default behind in every hierarchy; registered last so
// it runs after the file's own clean-up has removed its containers
afterAll(rememberRuntimeCgroups(), 10_000);
