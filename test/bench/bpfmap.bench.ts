// Hash-map update and lookup rate through lib/bpf against the same loop in C, measured in this run.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BpfMap, MapType, UpdateFlag } from "../../lib/bpf/index.ts";
import { report, rounds } from "./util.ts";

const N = 200_000;

function hookshimRates(): { update: number; lookup: number } {
  const m = BpfMap.create({ type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 1024, name: "bench" });
  const key = new Uint8Array(4);
  const kv = new DataView(key.buffer);
  const val = new Uint8Array(8);
  const vv = new DataView(val.buffer);
  let t0 = Bun.nanoseconds();
  for (let i = 0; i < N; i++) {
    kv.setUint32(0, i & 1023, true);
    vv.setBigUint64(0, BigInt(i), true);
    m.update(key, val, UpdateFlag.ANY);
  }
  let t1 = Bun.nanoseconds();
  for (let i = 0; i < N; i++) {
    kv.setUint32(0, i & 1023, true);
    m.lookup(key, val);
  }
  const t2 = Bun.nanoseconds();
  m.close();
  return { update: N / ((t1 - t0) / 1e9), lookup: N / ((t2 - t1) / 1e9) };
}

const dir = mkdtempSync(join(tmpdir(), "hookshim-bench-"));
try {
  const bin = join(dir, "bpfmap");
  const cc = Bun.spawnSync(["cc", "-O2", "-o", bin, join(import.meta.dir, "bpfmap_baseline.c")]);
  if (cc.exitCode !== 0) throw new Error(`cc failed: ${cc.stderr.toString()}`);
  const c = rounds(5, () => JSON.parse(Bun.spawnSync([bin, String(N)]).stdout.toString()) as { update: number; lookup: number });
  const js = rounds(5, hookshimRates);
  const med = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1]!;
  for (const op of ["update", "lookup"] as const) {
    const cRate = med(c.map((r) => r[op]));
    const jsRate = med(js.map((r) => r[op]));
    report(`bpf hash map ${op}`, [
      ["C (bpf(2) loop)", `${(cRate / 1e6).toFixed(2)} M ops/s`],
      ["hookshim lib/bpf", `${(jsRate / 1e6).toFixed(2)} M ops/s`],
      ["hookshim / C", `${((jsRate / cRate) * 100).toFixed(0)}% (aim >= 70%)`],
    ]);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
