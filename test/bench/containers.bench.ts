// Registry.populate over 5,000 container-named cgroups, against a bare readdir walk of the same tree;
// and the cgroup path -> container rate, against only splitting the paths. Needs root (mkdir in the
// cgroup2 hierarchy); the cgroups are removed at the end.
import { mkdirSync, readdirSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { Registry, containerFromCgroupPath } from "../../lib/containers/index.ts";
import { cgroupMount } from "../../lib/cgroup/index.ts";
import { rounds, median, report, ms } from "./util.ts";

const COUNT = 5_000;
const ROUNDS = 5;

if (process.getuid?.() !== 0) {
  console.log("containers.bench: skipped (needs root to make cgroups)");
  process.exit(0);
}

const mount = cgroupMount().mountpoint;
const parentRel = `/hookshim-bench-containers-${process.pid}`;
const parent = join(mount, parentRel);
const names = Array.from({ length: COUNT }, () => `docker-${randomBytes(32).toString("hex")}.scope`);

function walk(dir: string): number {
  let n = 1;
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) n += walk(join(dir, e.name));
  return n;
}

const time = (f: () => unknown) => {
  const t = Bun.nanoseconds();
  f();
  return Bun.nanoseconds() - t;
};

mkdirSync(parent);
try {
  const made = Bun.nanoseconds();
  for (const n of names) mkdirSync(join(parent, n));
  const mkdirNs = Bun.nanoseconds() - made;

  let seen = 0;
  const walkNs = median(rounds(ROUNDS, () => time(() => (seen = walk(parent)))));
  let recorded = 0;
  let containers = 0;
  const populateNs = median(
    rounds(ROUNDS, () =>
      time(() => {
        const reg = new Registry({ mountpoint: mount });
        recorded = reg.populate(parentRel);
        containers = reg.containers().length;
      }),
    ),
  );
  if (seen !== COUNT + 1 || recorded !== COUNT + 1 || containers !== COUNT) {
    throw new Error(`walk saw ${seen}, populate recorded ${recorded} with ${containers} containers; expected ${COUNT + 1}/${COUNT}`);
  }

  const paths = names.map((n) => `/system.slice/${n}`);
  const LOOKUP_ROUNDS = 40;
  let parts = 0;
  const splitNs = median(rounds(ROUNDS, () => time(() => {
    for (let r = 0; r < LOOKUP_ROUNDS; r++) for (const p of paths) parts += p.split("/").length;
  })));
  let found = 0;
  const lookupNs = median(rounds(ROUNDS, () => time(() => {
    for (let r = 0; r < LOOKUP_ROUNDS; r++) for (const p of paths) if (containerFromCgroupPath(p)) found++;
  })));
  if (found !== ROUNDS * LOOKUP_ROUNDS * COUNT || parts === 0) throw new Error(`lookups found ${found}`);
  const perSec = (ns: number) => `${((LOOKUP_ROUNDS * COUNT) / (ns / 1e9) / 1e6).toFixed(2)} M paths/s`;

  report(`containers: ${COUNT} cgroups named docker-<id>.scope under ${parent} (median of ${ROUNDS})`, [
    ["making them (mkdir, once)", ms(mkdirNs)],
    ["baseline: readdir walk", ms(walkNs)],
    ["Registry.populate", `${ms(populateNs)}  (${(populateNs / walkNs).toFixed(1)}x the walk; + stat, parse, record)`],
    ["baseline: split paths", perSec(splitNs)],
    ["containerFromCgroupPath", `${perSec(lookupNs)}  (${(lookupNs / splitNs).toFixed(1)}x the split)`],
  ]);
} finally {
  for (const n of names) {
    try {
      rmdirSync(join(parent, n));
    } catch {}
  }
  rmdirSync(parent);
}
