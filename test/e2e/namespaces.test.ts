// hookshim's hooks for containers that share namespaces with the host (issue 19): runc bundles
// sharing each namespace in turn and none of their own, podman --pid/--network/--ipc/--uts=host, and a
// container that gets a pid whose tracing entry an earlier, unseen process left behind.
//
// runc 1.1 runs prestart twice for a container without a mount namespace of its own; each container
// must still be traced once, recorded once ("created" once) and stopped with its exit status.
// Without a mount namespace runc's mounts land in the host's: such bundles mount only /proc, each
// gets its own rootfs, and everything under it is unmounted afterwards.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { describeNeeds } from "../support/prereq.ts";
import { scaled } from "../support/time.ts";
import { BpfMap, u64 } from "../../lib/bpf/index.ts";
import { PIN, nsInode, openExistingStore, openStore, storeDir } from "../../lib/store/index.ts";
import { encodeTaskInfo } from "../../lib/store/layout.ts";
import {
  busyboxRootfs, hookshim, hookshimExecutable, removeRuncRun, run, runcBundle, storeEvents, writeTestConfig, RUNC, type HookshimExecutable,
} from "./hooks-harness.ts";
import { rememberRuntimeCgroups } from "../support/runtime-cgroups.ts";

let counter = 0;
const uniq = (what: string) => `hkns-${what}-${process.pid}-${++counter}`;
const NAMESPACES = ["pid", "network", "ipc", "uts", "mount", "cgroup"] as const;
type Ns = (typeof NAMESPACES)[number];

/** Unmounts everything under `dir` (deepest first), as often as runc stacked it. */
async function unmountUnder(dir: string): Promise<void> {
  for (let i = 0; i < 10; i++) {
    const mounts = readFileSync("/proc/self/mountinfo", "utf8").split("\n").map((l) => l.split(" ")[4]).filter((m): m is string => !!m && (m === dir || m.startsWith(dir + "/")));
    if (!mounts.length) return;
    for (const m of mounts.sort((a, b) => b.length - a.length)) await run(["umount", "-l", m]);
  }
}

describeNeeds(["root", "runc", "busybox", "cgroup2", "btf", "bpffs"], "hooks for containers sharing host namespaces", () => {
  const tmp = mkdtempSync(join(tmpdir(), `hooks-ns-${process.pid}-`));
  const runcRoot = join(tmp, "runc-root");
  const parent = `/hookshim-test-ns-${process.pid}`;
  const store = uniq("store");
  const config = join(tmp, "hookshim.json");
  const host = { pid: nsInode(process.pid, "pid"), mnt: nsInode(process.pid, "mnt") };
  let exe: HookshimExecutable;

  beforeAll(async () => {
    exe = hookshimExecutable(tmp);
    if (!exe.compiled) console.warn(`namespaces e2e: compiled build failed (${exe.buildError}); using ${exe.path}`);
    writeTestConfig(config, { store, cgroupParent: parent });
    openStore(store, { maxTracing: 8192 }).close(); // room for the pid-reuse test's planted entries
  }, scaled(120_000));

  afterAll(async () => {
    await unmountUnder(tmp);
    await removeRuncRun({ runcRoot, parent, store, tmp });
  });

  const events = (id: string) => storeEvents(store, id);

  /** A hooked bundle running `sh -c 'exit 5'` with only the namespaces in `own`. */
  async function bundleWith(id: string, own: readonly Ns[]): Promise<string> {
    const rootfs = busyboxRootfs(join(tmp, `rootfs-${id}`));
    const bundle = runcBundle(tmp, id, rootfs, ["sh", "-c", "exit 5"], `${parent}/${id}`);
    const file = join(bundle, "config.json");
    const cfg = JSON.parse(readFileSync(file, "utf8"));
    cfg.linux.namespaces = own.map((type) => ({ type }));
    if (!own.includes("uts")) delete cfg.hostname;
    if (!own.includes("mount")) {
      cfg.mounts = [{ destination: "/proc", type: "proc", source: "proc" }];
      cfg.root.readonly = false;
      delete cfg.linux.maskedPaths;
      delete cfg.linux.readonlyPaths;
    }
    writeFileSync(file, JSON.stringify(cfg));
    const r = await hookshim(["--config", config, "install", "--bundle", bundle, "--binary", exe.path]);
    expect(r.code).toBe(0);
    return bundle;
  }

  /** `runc run` in the foreground: the hooks' failures reach stderr, the exit code is the container's. */
  async function runcRun(bundle: string, id: string) {
    const p = Bun.spawn([RUNC, "--root", runcRoot, "run", "--bundle", bundle, id], { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
    const [err, code] = await Promise.all([new Response(p.stderr).text(), p.exited]);
    await unmountUnder(join(tmp, `rootfs-${id}`));
    return { code, err };
  }

  /** One record, one created and one stopped event with exit 5, and nothing left traced or filtered. */
  function expectRecordedOnce(id: string, own: readonly Ns[]) {
    const evs = events(id);
    expect(evs.map((e) => e.type)).toEqual(["created", "stopped"]);
    expect(evs[1]).toMatchObject({ exitCode: 5, signal: null, source: "hook" });
    const s = openExistingStore(store);
    try {
      const rec = s.getContainer(id)!;
      expect(rec).toMatchObject({ state: "stopped", exitCode: 5, signal: null, reconciled: false });
      expect(rec.pidStartTicks).toBeGreaterThan(0n);
      // the record names the namespaces the container really had: the host's where it shares them
      expect(rec.pidnsIno === host.pid).toBe(!own.includes("pid"));
      expect(rec.mntnsIno === host.mnt).toBe(!own.includes("mount"));
      expect(s.getTracingTask(rec.pid)?.traceId).not.toBe(rec.traceId);
      expect(s.cgroupFilter.lookup(u64.encode(rec.cgroupId))).toBeUndefined();
      expect(existsSync(rec.cgroupPath)).toBe(false);
    } finally {
      s.close();
    }
  }

  const base = ["pid", "network", "ipc", "uts", "mount"] as const; // runc spec's
  const cases: [string, readonly Ns[]][] = [
    ...base.map((ns): [string, readonly Ns[]] => [`sharing the host's ${ns} namespace`, base.filter((n) => n !== ns)]),
    ["with a cgroup namespace of its own", [...base, "cgroup"]],
    ["with no namespace of its own (linux.namespaces: [])", []],
  ];
  for (const [what, own] of cases) {
    test(`a runc container ${what} is traced and recorded once`, async () => {
      const id = uniq("c");
      const bundle = await bundleWith(id, own);
      const r = await runcRun(bundle, id);
      expect(r.err).not.toContain("hookshim");
      expect(r.code).toBe(5);
      expectRecordedOnce(id, own);
    }, scaled(30_000));
  }

  test("a container whose pid still has a tracing entry from an unseen earlier process starts and is recorded", async () => {
    // Steer the next pids into a window and give every free pid there a stale entry, as a store
    // would hold after its exit program missed those processes' exits.
    const pidMax = Number(readFileSync("/proc/sys/kernel/pid_max", "utf8"));
    const last = Number(readFileSync("/proc/sys/kernel/ns_last_pid", "utf8"));
    const from = last + 4000 < pidMax - 3000 ? last + 2000 : 1000;
    const window = 2500;
    const s = openExistingStore(store);
    const tracing = BpfMap.fromPin(join(storeDir(store), PIN.tracing));
    const planted = new Set<number>();
    try {
      const key = new Uint8Array(4);
      for (let pid = from + 1; pid <= from + window; pid++) {
        if (existsSync(`/proc/${pid}`)) continue;
        new DataView(key.buffer).setUint32(0, pid, true);
        tracing.update(key, encodeTaskInfo({ traceId: 1_000_000n + BigInt(pid), pidnsIno: host.pid, startTicks: 1n }));
        planted.add(pid);
      }
    } finally {
      tracing.close();
      s.close();
    }
    const id = uniq("reuse");
    const bundle = await bundleWith(id, base);
    writeFileSync("/proc/sys/kernel/ns_last_pid", String(from));
    const r = await runcRun(bundle, id);
    expect(r.err).not.toContain("hookshim");
    expect(r.code).toBe(5);
    expectRecordedOnce(id, base);
    const rec = events(id)[0]!;
    expect(planted.has(rec.pid)).toBe(true); // it did get a pid with a stale entry
    // and the entries of processes that never existed go at the next reconciliation
    const ps = await hookshim(["--store", store, "ps", "--json"]);
    expect(ps.code).toBe(0);
    const after = openExistingStore(store);
    try {
      expect(after.tracingTasks().filter(([pid]) => planted.has(pid))).toEqual([]);
    } finally {
      after.close();
    }
  }, scaled(60_000));
});

describeNeeds(["root", "podman", "runc", "busybox", "cgroup2", "btf"], "hooks under podman sharing host namespaces", () => {
  const tmp = mkdtempSync(join(tmpdir(), `hooks-ns-podman-${process.pid}-`));
  const hooksDir = join(tmp, "hooks.d");
  const store = uniq("pstore");
  const config = join(tmp, "hookshim.json");
  let rootfs: string;
  const podmanBase = ["podman", "--root", join(tmp, "storage"), "--runroot", join(tmp, "run"), "--storage-driver", "vfs",
    "--cgroup-manager=cgroupfs", "--runtime=runc", "--hooks-dir", hooksDir];
  const limits = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"];

  beforeAll(async () => {
    const exe = hookshimExecutable(tmp);
    rootfs = busyboxRootfs(tmp);
    writeTestConfig(config, { store, cgroupParent: `/hookshim-test-ns-podman-${process.pid}` });
    const r = await hookshim(["--config", config, "install", "--hooks-dir", hooksDir, "--binary", exe.path]);
    expect(r.code).toBe(0);
  }, scaled(120_000));

  afterAll(async () => {
    await run([...podmanBase, "rm", "-af", "-t", "0"]);
    const { resetStore } = await import("../../lib/store/index.ts");
    resetStore(store);
    const { rmSync } = await import("node:fs");
    rmSync(tmp, { recursive: true, force: true });
  });

  for (const flag of ["--pid=host", "--network=host", "--ipc=host", "--uts=host"]) {
    test(`podman ${flag}: exit 5 recorded once`, async () => {
      const cidfile = join(tmp, uniq("cid"));
      const net = flag === "--network=host" ? [] : ["--network=none"];
      const r = await run([...podmanBase, "run", "--rm", "--cidfile", cidfile, flag, ...net, ...limits, "--rootfs", rootfs, "sh", "-c", "exit 5"]);
      expect(r.err).toBe("");
      expect(r.code).toBe(5);
      const id = readFileSync(cidfile, "utf8").trim();
      const s = openExistingStore(store);
      try {
        const evs = s.readEvents().events.map((e) => e.event).filter((e) => e.id === id);
        expect(evs.map((e) => [e.type, e.exitCode])).toEqual([["created", null], ["stopped", 5]]);
        const rec = s.getContainer(id)!;
        expect(rec).toMatchObject({ state: "stopped", exitCode: 5 });
        if (flag === "--pid=host") expect(rec.pidnsIno).toBe(nsInode(process.pid, "pid"));
        expect(s.getTracingTask(rec.pid)?.traceId).not.toBe(rec.traceId);
      } finally {
        s.close();
      }
    }, scaled(60_000));
  }
});

afterAll(rememberRuntimeCgroups(), 10_000);
