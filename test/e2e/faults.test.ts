// Crash consistency (issue 20): hookshim's real hooks SIGKILLed at random points under `runc run` and
// podman, and the notifier SIGKILLed in the middle of a start, many times; then the invariants:
//   - the next normal container after every fault is recorded with its exit status;
//   - ps and events work;
//   - once reconciliation has run (ps does it), no record says created or running for a container
//     that is gone, and no tracing entry, filter-map entry or cgroup is left behind.
// A wrapper between the runtime and hookshim does the killing: a fault file names the stage to kill
// next and the delay; the wrapper runs the hook, sleeps, and SIGKILLs it.
// The run counts are chosen to keep the file under 60 s on the test host.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { describeNeeds } from "../support/prereq.ts";
import { TIME_SCALE, scaled } from "../support/time.ts";
import { cgroupMount } from "../../lib/cgroup/index.ts";
import { liveStartTicks, liveness, openExistingStore, resetStore, type ContainerRecord } from "../../lib/store/index.ts";
import {
  BUN, CLI, busyboxRootfs, hookshim, hookshimExecutable, removeRuncRun, run, runcBundle, writeTestConfig, RUNC, type HookshimExecutable,
} from "./hooks-harness.ts";
import { rememberRuntimeCgroups } from "../support/runtime-cgroups.ts";

let counter = 0;
const uniq = (what: string) => `hkf-${what}-${process.pid}-${++counter}`;

/** Deterministic pseudo-random delays (a failure can be replayed from the seed in its message). */
function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}
const SEED = Number(process.env.HOOKSHIM_FAULT_SEED ?? Date.now() % 100_000);

/** The wrapper the runtime calls instead of hookshim. */
function faultWrapper(dir: string, real: string, faultFile: string): string {
  const path = join(dir, "hookshim-fault");
  writeFileSync(path, `#!/bin/sh
stage=""
for a in "$@"; do case "$a" in prestart|poststop) stage=$a;; esac; done
if [ -n "$stage" ] && [ -f ${faultFile} ] && read want delay < ${faultFile} && [ "$want" = "$stage" ]; then
  rm -f ${faultFile}
  ${real} "$@" <&0 &
  pid=$!
  sleep "$delay"
  kill -9 $pid 2>/dev/null
  wait $pid
  exit $?
fi
exec ${real} "$@"
`, { mode: 0o755 });
  return path;
}

interface Invariants {
  records: ContainerRecord[];
}

/** Reconciles through `hookshim ps` (as a user would), then checks what the store and the hierarchy hold. */
async function checkInvariants(store: string, parent: string): Promise<Invariants> {
  const ps = await hookshim(["--store", store, "ps", "--json"]);
  expect(ps.err).toBe("");
  expect(ps.code).toBe(0);
  const ev = await hookshim(["--store", store, "events", "--json"]);
  expect(ev.code).toBe(0);
  for (const line of ev.out.split("\n").filter(Boolean)) JSON.parse(line);
  const s = openExistingStore(store);
  try {
    const records = s.containers();
    // every container of this test is gone
    expect(records.filter((r) => r.state !== "stopped").map((r) => `${r.id} ${r.state} pid ${r.pid}`)).toEqual([]);
    expect(s.tracingTasks()).toEqual([]);
    expect(s.filteredCgroups()).toEqual([]);
    const under = join(cgroupMount().mountpoint, parent);
    expect(existsSync(under) ? readdirSync(under, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name) : []).toEqual([]);
    return { records };
  } finally {
    s.close();
  }
}

describeNeeds(["root", "runc", "busybox", "cgroup2", "btf", "bpffs"], "faults: hooks SIGKILLed under runc run", () => {
  const tmp = mkdtempSync(join(tmpdir(), `hooks-faults-${process.pid}-`));
  const runcRoot = join(tmp, "runc-root");
  const parent = `/hookshim-test-faults-${process.pid}`;
  const store = uniq("store");
  const config = join(tmp, "hookshim.json");
  const faultFile = join(tmp, "fault");
  let exe: HookshimExecutable;
  let wrapper: string;
  let rootfs: string;

  beforeAll(() => {
    exe = hookshimExecutable(tmp);
    if (!exe.compiled) console.warn(`faults e2e: compiled build failed (${exe.buildError}); using ${exe.path}`);
    wrapper = faultWrapper(tmp, exe.path, faultFile);
    rootfs = busyboxRootfs(tmp);
    writeTestConfig(config, { store, cgroupParent: parent });
  }, scaled(120_000));

  afterAll(() => removeRuncRun({ runcRoot, parent, store, tmp }));

  async function runOne(id: string, script: string): Promise<number> {
    const bundle = runcBundle(tmp, id, rootfs, ["sh", "-c", script], `${parent}/${id}`);
    const r = await hookshim(["--config", config, "install", "--bundle", bundle, "--binary", wrapper]);
    expect(r.code).toBe(0);
    const p = Bun.spawn([RUNC, "--root", runcRoot, "run", "--bundle", bundle, id], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
    const code = await p.exited;
    await run([RUNC, "--root", runcRoot, "delete", "-f", id]);
    return code;
  }

  test("prestart and poststop killed at random points: the next container is recorded, nothing lies or leaks", async () => {
    const rand = prng(SEED);
    const ROUNDS = TIME_SCALE > 1 ? 6 : 20; // a VM lane under TCG runs a container in ~15 s
    let faults = 0;
    for (let i = 0; i < ROUNDS; i++) {
      const stage = i % 2 ? "poststop" : "prestart";
      const delay = (rand() * 0.06 * TIME_SCALE).toFixed(3); // 0-60 ms (scaled): before, during and after the store writes
      writeFileSync(faultFile, `${stage} ${delay}\n`);
      await runOne(uniq(`fault-${stage}`), "exit 0");
      if (!existsSync(faultFile)) faults++;
      rmSync(faultFile, { force: true });
      const next = uniq("next");
      expect(`seed ${SEED} round ${i}: ${await runOne(next, "exit 3")}`).toBe(`seed ${SEED} round ${i}: 3`);
      const s = openExistingStore(store);
      try {
        expect({ round: i, seed: SEED, rec: s.getContainer(next) }).toMatchObject({ rec: { state: "stopped", exitCode: 3, reconciled: false } });
      } finally {
        s.close();
      }
    }
    expect(faults).toBe(ROUNDS);
    const { records } = await checkInvariants(store, parent);
    const faulted = records.filter((r) => r.id.includes("-fault-"));
    console.log(
      `faults (runc, seed ${SEED}): ${faults} injected; after reconciliation ${faulted.length} records of faulted containers, ` +
        `${faulted.filter((r) => r.reconciled).length} stopped by reconciliation (${faulted.filter((r) => r.reconciled && r.exitCode === null && r.signal === null).length} with status unknown), none created/running, no tracing, filter or cgroup left`,
    );
  }, scaled(120_000));
});

describeNeeds(["root", "podman", "runc", "busybox", "cgroup2", "btf"], "faults: hooks SIGKILLed under podman", () => {
  const tmp = mkdtempSync(join(tmpdir(), `hooks-faults-podman-${process.pid}-`));
  const hooksDir = join(tmp, "hooks.d");
  const store = uniq("pstore");
  const parent = `/hookshim-test-faults-podman-${process.pid}`;
  const config = join(tmp, "hookshim.json");
  const faultFile = join(tmp, "fault");
  let rootfs: string;
  const podmanBase = ["podman", "--root", join(tmp, "storage"), "--runroot", join(tmp, "run"), "--storage-driver", "vfs",
    "--cgroup-manager=cgroupfs", "--runtime=runc", "--hooks-dir", hooksDir];
  const runArgs = ["--network=none", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"];

  beforeAll(() => {
    const exe = hookshimExecutable(tmp);
    const wrapper = faultWrapper(tmp, exe.path, faultFile);
    rootfs = busyboxRootfs(tmp);
    writeTestConfig(config, { store, cgroupParent: parent });
    // one hooks.d file per stage, so the wrapper knows which stage it runs
    mkdirSync(hooksDir, { recursive: true });
    for (const stage of ["prestart", "poststop"]) {
      writeFileSync(join(hooksDir, `hookshim-${stage}.json`), JSON.stringify({
        version: "1.0.0", hook: { path: wrapper, args: ["hookshim", "--config", config, "hook", stage] }, when: { always: true }, stages: [stage],
      }));
    }
  }, scaled(120_000));

  afterAll(async () => {
    await run([...podmanBase, "rm", "-af", "-t", "0"]);
    resetStore(store);
    rmSync(tmp, { recursive: true, force: true });
  });

  async function podmanRun(script: string): Promise<{ code: number; id: string }> {
    const cidfile = join(tmp, uniq("cid"));
    const r = await run([...podmanBase, "run", "--rm", "--cidfile", cidfile, ...runArgs, "--rootfs", rootfs, "sh", "-c", script]);
    return { code: r.code, id: existsSync(cidfile) ? readFileSync(cidfile, "utf8").trim() : "" };
  }

  test("prestart and poststop killed at random points under podman", async () => {
    const rand = prng(SEED + 1);
    const ROUNDS = TIME_SCALE > 1 ? 4 : 6;
    let faults = 0;
    for (let i = 0; i < ROUNDS; i++) {
      const stage = i % 2 ? "poststop" : "prestart";
      writeFileSync(faultFile, `${stage} ${(rand() * 0.06 * TIME_SCALE).toFixed(3)}\n`);
      await podmanRun("exit 0");
      if (!existsSync(faultFile)) faults++;
      rmSync(faultFile, { force: true });
      const next = await podmanRun("exit 3");
      expect(`seed ${SEED} round ${i}: ${next.code}`).toBe(`seed ${SEED} round ${i}: 3`);
      const s = openExistingStore(store);
      try {
        expect(s.getContainer(next.id)).toMatchObject({ state: "stopped", exitCode: 3 });
      } finally {
        s.close();
      }
    }
    expect(faults).toBe(ROUNDS);
    const { records } = await checkInvariants(store, parent);
    console.log(`faults (podman, seed ${SEED}): ${faults} injected; ${records.filter((r) => r.reconciled).length} records stopped by reconciliation; nothing created/running, no tracing, filter or cgroup left`);
  }, scaled(120_000));
});

describeNeeds(["root", "fanotify", "runc", "busybox", "cgroup2", "btf", "bpffs"], "faults: the notifier SIGKILLed mid-start", () => {
  const tmp = mkdtempSync(join(tmpdir(), `notifier-faults-${process.pid}-`));
  const runcRoot = join(tmp, "runc-root");
  const parent = `/hookshim-test-faults-notifier-${process.pid}`;
  const store = uniq("nstore");
  let rootfs: string;

  beforeAll(() => {
    rootfs = busyboxRootfs(tmp);
  });

  afterAll(() => removeRuncRun({ runcRoot, parent, store, tmp }));

  /** A notifier on this test's store, once it watches. */
  async function startNotifier(): Promise<ReturnType<typeof Bun.spawn>> {
    const p = Bun.spawn([BUN, CLI, "--store", store, "notifier", "--json"], { stdout: "ignore", stderr: "pipe" });
    const reader = (p.stderr as ReadableStream<Uint8Array>).getReader();
    let text = "";
    while (!text.includes("hookshim notifier: watching")) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`notifier exited: ${text}`);
      text += new TextDecoder().decode(value);
    }
    reader.releaseLock();
    void (p.stderr as ReadableStream<Uint8Array>).pipeTo(new WritableStream()).catch(() => {});
    return p;
  }

  function runcRun(id: string, script: string): Promise<number> {
    const bundle = runcBundle(tmp, id, rootfs, ["sh", "-c", script], `${parent}/${id}`);
    return Bun.spawn([RUNC, "--root", runcRoot, "run", "--bundle", bundle, "--pid-file", join(tmp, `${id}.pid`), id], {
      stdin: "ignore", stdout: "ignore", stderr: "ignore",
    }).exited;
  }

  test("killed at random points of a start: the next container is recorded; reconciliation leaves no lie", async () => {
    const rand = prng(SEED + 2);
    const ROUNDS = TIME_SCALE > 1 ? 3 : 5;
    const mine: string[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const n = await startNotifier();
      const id = uniq("nk");
      mine.push(id);
      const started = runcRun(id, "sleep 0.2; exit 4");
      await Bun.sleep(rand() * 300 * TIME_SCALE);
      n.kill("SIGKILL");
      await n.exited;
      expect(await started).toBe(4); // nothing waits on the dead notifier
      await run([RUNC, "--root", runcRoot, "delete", "-f", id]);
    }
    // the next container, with a notifier that lives
    const n = await startNotifier();
    const next = uniq("next");
    expect(await runcRun(next, "exit 4")).toBe(4);
    await run([RUNC, "--root", runcRoot, "delete", "-f", next]);
    let rec: ContainerRecord | undefined;
    for (const end = Date.now() + scaled(5_000); Date.now() < end && rec?.state !== "stopped"; ) {
      await Bun.sleep(10);
      const s = openExistingStore(store);
      rec = s.getContainer(next);
      s.close();
    }
    expect(rec).toMatchObject({ state: "stopped", exitCode: 4 });
    n.kill("SIGTERM");
    await n.exited;

    const ps = await hookshim(["--store", store, "ps", "--json"]);
    expect(ps.code).toBe(0);
    const s = openExistingStore(store);
    try {
      // the notifier records every runc start on the host (other tests' too): a record that is not
      // stopped must be a verifiably running container; one that never got a pid is stopped once the
      // wait for it is over (no notifier is left to wait here)
      s.reconcile({ pidWaitGraceNs: 0n });
      const notStopped = s.containers().filter((r) => r.state !== "stopped");
      expect(notStopped.filter((r) => liveness(r, s.tracing) !== "running").map((r) => `${r.id} ${r.state} pid ${r.pid}`)).toEqual([]);
      for (const id of mine) expect(s.getContainer(id)?.state ?? "stopped").toBe("stopped");
      expect(s.tracingTasks().filter(([pid, t]) => liveStartTicks(pid) !== t.startTicks)).toEqual([]);
      const left = mine.map((id) => s.getContainer(id));
      console.log(`faults (notifier, seed ${SEED}): ${ROUNDS} notifier SIGKILLs mid-start; their records: ${left.filter(Boolean).length}, stopped by reconciliation ${left.filter((r) => r?.reconciled).length} (status unknown: ${left.filter((r) => r?.reconciled && r.exitCode === null && r.signal === null).length})`);
    } finally {
      s.close();
    }
  }, scaled(120_000));
});

afterAll(rememberRuntimeCgroups(), 10_000);
