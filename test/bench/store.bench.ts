// Lifecycle store figures, each next to a baseline measured in the same run:
//   event append rate            vs a bare NOEXIST map update of the same record (no lock, no sequence)
//   container lookup rate        vs a bare map lookup (no key encoding, no decoding)
//   ps over 10,000 records       vs one batch lookup of the raw map
//   trace + untrace of a live process (start-time check, lock) vs a bare tracing-map update + delete
//   reconciliation of 10,000 records (each judged by pid + start time) vs listing them
//   cost per process exit of the exit program: fork+exit+wait of 10,000 children (C) without and
//   with the program attached, plus the kernel's own run-time stats for the program.
// Needs root. Uses its own bpffs and store, removed at the end.
import { mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BpfMap, BpfProgram, MapType, UpdateFlag, ensureBpffs } from "../../lib/bpf/index.ts";
import { umount } from "../../lib/sys/index.ts";
import {
  EVENT_RECORD_SIZE, containerKey, encodeEvent, makeEvent, newContainerRecord, openStore, resetStore,
} from "../../lib/store/index.ts";
import { containerTable } from "../../lib/cli/ps.ts";
import { median, report, rounds, us } from "./util.ts";

const FORK_C = `
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
int main(int argc, char **argv) {
  int n = atoi(argv[1]);
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (int i = 0; i < n; i++) {
    pid_t p = fork();
    if (p == 0) _exit(0);
    if (p < 0) { perror("fork"); return 1; }
    waitpid(p, NULL, 0);
  }
  clock_gettime(CLOCK_MONOTONIC, &b);
  printf("%.1f\\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n);
  return 0;
}
`;

const rate = (n: number, ns: number) => `${((n / ns) * 1e9 / 1e3).toFixed(1)} k/s`;
const time = (f: () => void) => {
  const t0 = Bun.nanoseconds();
  f();
  return Bun.nanoseconds() - t0;
};

const bpffs = mkdtempSync(join(tmpdir(), "hookshim-bench-bpffs-"));
const work = mkdtempSync(join(tmpdir(), "hookshim-bench-"));
ensureBpffs(bpffs);
const name = `hookshim-bench-${process.pid}`;
const statsPath = "/proc/sys/kernel/bpf_stats_enabled";
let statsBefore: string | undefined;

try {
  // Exit cost first, before the store exists: the baseline has no program of ours attached.
  const forkBin = join(work, "forkloop");
  writeFileSync(join(work, "forkloop.c"), FORK_C);
  const cc = Bun.spawnSync(["cc", "-O2", "-o", forkBin, join(work, "forkloop.c")]);
  if (cc.exitCode !== 0) throw new Error(`cc failed: ${cc.stderr.toString()}`);
  const forkLoop = () => Number(Bun.spawnSync([forkBin, "10000"]).stdout.toString());
  const without = median(rounds(3, forkLoop));

  const store = openStore(name, { bpffs, maxEvents: 65536, maxContainers: 16384 });
  // A few traced pids (not the children) so each exit does a real hash lookup that misses.
  const sleepers = rounds(8, () => Bun.spawn(["/bin/sleep", "1000"]));
  for (const s of sleepers) store.trace(s.pid);
  statsBefore = readFileSync(statsPath, "utf8").trim();
  writeFileSync(statsPath, "1");
  const prog = BpfProgram.fromId(store.exitProgram()!.progId);
  const before = prog.info();
  const withProg = median(rounds(3, forkLoop));
  const after = prog.info();
  prog.close();
  writeFileSync(statsPath, statsBefore);
  const runs = Number(after.runCount - before.runCount);
  const runNs = Number(after.runTimeNs - before.runTimeNs);
  report("per process exit (fork + _exit + waitpid, 10,000 children, median of 3)", [
    ["without the exit program", us(without)],
    ["with the exit program", us(withProg)],
    ["added per exit (difference)", us(withProg - without)],
    ["program run time (bpf_stats)", runs ? `${(runNs / runs).toFixed(0)} ns over ${runs} runs` : "n/a"],
  ]);

  // Event append.
  const N = 20_000;
  const ev = makeEvent({ type: "add", id: "f".repeat(64), name: "bench", source: "notifier", runtime: "runc" });
  const appendNs = median(rounds(3, () => time(() => { for (let i = 0; i < N; i++) store.append(ev); })));
  const raw = BpfMap.create({ type: MapType.HASH, keySize: 8, valueSize: EVENT_RECORD_SIZE, maxEntries: N, name: "bench_raw" });
  const rawKey = new Uint8Array(8);
  const rawView = new DataView(rawKey.buffer);
  const encoded = encodeEvent(ev);
  const rawNs = median(rounds(3, () => {
    for (const k of [...raw.keys()]) raw.delete(k);
    return time(() => {
      for (let i = 0; i < N; i++) {
        rawView.setBigUint64(0, BigInt(i), true);
        raw.update(rawKey, encoded, UpdateFlag.NOEXIST);
      }
    });
  }));
  raw.close();
  report(`event append (${N} events, median of 3)`, [
    ["bare map update (baseline)", rate(N, rawNs)],
    ["store.append (lock + sequence)", rate(N, appendNs)],
    ["store / baseline", `${((rawNs / appendNs) * 100).toFixed(0)}%`],
  ]);

  // Containers: 10,000 records, then lookups and ps.
  const C = 10_000;
  for (let i = 0; i < C; i++)
    store.putContainer(newContainerRecord({ id: `container-${i}`.padEnd(64, "0"), name: `c${i}`, pid: 1000 + i, runtime: "runc", state: "running" }));
  const ids = Array.from({ length: C }, (_, i) => `container-${i}`.padEnd(64, "0"));
  const lookupNs = median(rounds(3, () => time(() => { for (const id of ids) store.getContainer(id); })));
  const containersMap = BpfMap.fromPin(join(store.dir, "containers"));
  const keys = ids.map((id) => containerKey(id));
  const out = new Uint8Array(containersMap.valueSize);
  const bareLookupNs = median(rounds(3, () => time(() => { for (const k of keys) containersMap.lookup(k, out); })));
  report(`container lookup (${C} records, median of 3)`, [
    ["bare map lookup (baseline)", rate(C, bareLookupNs)],
    ["store.getContainer", rate(C, lookupNs)],
    ["store / baseline", `${((bareLookupNs / lookupNs) * 100).toFixed(0)}%`],
  ]);

  const psNs = median(rounds(3, () => time(() => containerTable(store.containers()))));
  const batchNs = median(rounds(3, () => time(() => containersMap.lookupBatch())));
  containersMap.close();
  report(`ps over ${C} records (median of 3)`, [
    ["raw batch lookup (baseline)", `${(batchNs / 1e6).toFixed(1)} ms`],
    ["containers() + table", `${(psNs / 1e6).toFixed(1)} ms`],
  ]);

  // trace: what prestart pays per container for the pid + start time identity
  const T = 2_000;
  const live = Bun.spawn(["/bin/sleep", "1000"]);
  const traceNs = median(rounds(3, () => time(() => {
    for (let i = 0; i < T; i++) {
      const t = store.trace(live.pid);
      store.tracing.untrace(live.pid, t.traceId);
    }
  })));
  const tracingMap = BpfMap.fromPin(join(store.dir, "tracing_tasks"));
  const tKey = new Uint8Array(4);
  new DataView(tKey.buffer).setUint32(0, live.pid, true);
  const tVal = new Uint8Array(tracingMap.valueSize);
  const bareTraceNs = median(rounds(3, () => time(() => {
    for (let i = 0; i < T; i++) {
      tracingMap.update(tKey, tVal, UpdateFlag.NOEXIST);
      tracingMap.delete(tKey);
    }
  })));
  tracingMap.close();
  live.kill("SIGKILL");
  report(`trace + untrace of a live process (${T}, median of 3)`, [
    ["bare map update + delete (baseline)", us(bareTraceNs / T)],
    ["store.trace + untrace", us(traceNs / T)],
  ]);

  // reconciliation over the 10,000 records above (pids 1000..10999, "running", no start time)
  const listNs = median(rounds(3, () => time(() => store.containers())));
  const firstNs = time(() => store.reconcile());
  const stopped = store.containers().filter((c) => c.reconciled).length;
  const againNs = median(rounds(3, () => time(() => store.reconcile())));
  report(`reconciliation of ${C} records`, [
    ["containers() (baseline)", `${(listNs / 1e6).toFixed(1)} ms`],
    [`first run (${stopped} found gone and stopped)`, `${(firstNs / 1e6).toFixed(1)} ms`],
    ["next run (nothing to do, median of 3)", `${(againNs / 1e6).toFixed(1)} ms`],
  ]);
  for (const s of sleepers) s.kill("SIGKILL");
  store.close();
} finally {
  if (statsBefore !== undefined) writeFileSync(statsPath, statsBefore);
  resetStore(name, { bpffs });
  umount(bpffs);
  rmdirSync(bpffs);
  rmSync(work, { recursive: true, force: true });
}
