// A container-notifier process for e2e tests: started on its own store, its JSON events and error
// lines collected. Every runtime exec on the host waits for each live notifier, so a test file kills
// the ones still running after each test (afterEach(killLiveNotifiers)).
import { BUN, CLI } from "./build.ts";
import { scaled } from "./time.ts";
import { expect } from "bun:test";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { cgroupMount } from "../../lib/cgroup/index.ts";
import { openExistingStore } from "../../lib/store/index.ts";

export interface NotifierEvent {
  type: string; id: string; name: string; pid: number; bundle: string; runtime: string; cgroup: string;
  exitCode: number | null; signal: number | null; source: string; error?: string;
}

const live = new Set<NotifierProcess>();

export async function killLiveNotifiers(): Promise<void> {
  for (const n of [...live]) await n.kill();
}

export class NotifierProcess {
  readonly events: NotifierEvent[] = [];
  readonly errors: NotifierEvent[] = [];
  readonly stderr: string[] = [];
  private proc!: ReturnType<typeof Bun.spawn>;
  constructor(readonly store: string) {}

  /** `wrapper`: argv put before the notifier's own (prlimit, setpriv, ...). */
  async start(extra: string[] = [], wrapper: string[] = []): Promise<void> {
    this.proc = Bun.spawn([...wrapper, BUN, CLI, "--store", this.store, "notifier", "--json", ...extra], { stdout: "pipe", stderr: "pipe" });
    live.add(this);
    void lines(this.proc.stdout as ReadableStream<Uint8Array>, (l) => this.events.push(JSON.parse(l)));
    let ready!: () => void;
    const isReady = new Promise<void>((r) => (ready = r));
    void lines(this.proc.stderr as ReadableStream<Uint8Array>, (l) => {
      this.stderr.push(l);
      if (l.startsWith("{")) this.errors.push(JSON.parse(l));
      if (l.includes("hookshim notifier: watching")) ready();
    });
    await Promise.race([isReady, this.proc.exited.then((c) => { throw new Error(`notifier exited ${c}: ${this.stderr.join("\n")}`); })]);
  }

  of(id: string, type?: string): NotifierEvent[] {
    return this.events.filter((e) => e.id === id && (!type || e.type === type));
  }

  async waitFor(pred: () => boolean, what: string, ms = 20_000): Promise<void> {
    const end = Date.now() + scaled(ms);
    while (!pred()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}; events: ${JSON.stringify(this.events.slice(-10))} stderr: ${this.stderr.slice(-5).join(" | ")}`);
      await Bun.sleep(10);
    }
  }

  kill(signal: NodeJS.Signals | number = "SIGTERM"): Promise<number> {
    live.delete(this);
    this.proc.kill(signal);
    return this.proc.exited;
  }
}

async function lines(stream: ReadableStream<Uint8Array>, on: (line: string) => void): Promise<void> {
  const dec = new TextDecoder();
  let buf = "";
  for await (const chunk of stream) {
    buf += dec.decode(chunk, { stream: true });
    let i: number;
    while ((i = buf.indexOf("\n")) >= 0) {
      const l = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (l) on(l);
    }
  }
}

/** What the kernel says about a running process, read without hookshim's helpers. */
export function kernelIds(pid: number): { cgroupDir: string; cgroupId: bigint; pidns: number; mntns: number } {
  const line = readFileSync(`/proc/${pid}/cgroup`, "utf8").split("\n").find((l) => l.startsWith("0::"))!;
  const cgroupDir = join(cgroupMount().mountpoint, line.slice(3));
  return {
    cgroupDir,
    cgroupId: statSync(cgroupDir, { bigint: true }).ino,
    pidns: statSync(`/proc/${pid}/ns/pid`).ino,
    mntns: statSync(`/proc/${pid}/ns/mnt`).ino,
  };
}

/** The store record and the `hookshim ps --json` row of `id` carry what the kernel says about `pid`. */
export function expectRecordIds(store: string, id: string, pid: number): void {
  const want = kernelIds(pid);
  // the container's own cgroup and namespaces, not the host's
  expect(want.cgroupDir).not.toBe(cgroupMount().mountpoint);
  expect(want.pidns).not.toBe(statSync("/proc/self/ns/pid").ino);
  const s = openExistingStore(store);
  const rec = s.getContainer(id)!;
  s.close();
  expect(rec).toMatchObject({ pid, state: "running", cgroupPath: want.cgroupDir });
  expect(rec.cgroupId).toBe(want.cgroupId);
  expect(rec.pidnsIno).toBe(want.pidns);
  expect(rec.mntnsIno).toBe(want.mntns);
  const ps = Bun.spawnSync([BUN, CLI, "--store", store, "ps", "--json"], { stdout: "pipe", stderr: "pipe" });
  expect(ps.exitCode).toBe(0);
  const row = ps.stdout.toString().trim().split("\n").map((l) => JSON.parse(l)).find((r) => r.id === id);
  expect(row).toBeDefined();
  expect(BigInt(row.cgroupId)).toBe(want.cgroupId);
  expect([row.pidns, row.mntns]).toEqual([want.pidns, want.mntns]);
}
