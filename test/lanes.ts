// `npm test`: every test lane, one after the other, each with its own counts, then the total.
//
//   host     bun test on this machine: unit, kernel and e2e suites (and test/v2 where this host
//            itself runs pure cgroup v2).
//   vm-6.1   the kernel, e2e and pure-v2 suites in a VM on Debian 12's 6.1 kernel (test/vm/run.ts)
//   vm-6.12  the same on Debian 12's 6.12 kernel
//   vm-systemd  test/systemd on the 6.1 kernel with systemd 252 as PID 1 (engines on systemd's cgroup driver)
//
//   npm test [-- --lanes host,vm-6.1] [bun test args for every lane]
//
// Exits non-zero when any lane fails, including a VM that did not boot or ran out of time.
import { statfsSync } from "node:fs";
import { join } from "node:path";

const REPO = join(import.meta.dir, "..");
const BUN = process.execPath;
const CGROUP2_SUPER_MAGIC = 0x63677270;
const pureV2 = (() => {
  try {
    return statfsSync("/sys/fs/cgroup").type === CGROUP2_SUPER_MAGIC;
  } catch {
    return false;
  }
})();

const LANES: Record<string, (extra: string[]) => string[]> = {
  host: (extra) => [BUN, "test", ...(extra.length ? extra : ["test/unit", "test/kernel", "test/e2e", ...(pureV2 ? ["test/v2"] : [])])],
  "vm-6.1": (extra) => [BUN, "run", "test/vm/run.ts", "--kernel", "6.1", ...(extra.length ? extra : ["test/kernel", "test/e2e", "test/v2"])],
  "vm-6.12": (extra) => [BUN, "run", "test/vm/run.ts", "--kernel", "6.12", ...(extra.length ? extra : ["test/kernel", "test/e2e", "test/v2"])],
  "vm-systemd": (extra) => [BUN, "run", "test/vm/run.ts", "--kernel", "6.1", "--init", "systemd", ...(extra.length ? extra : ["test/systemd"])],
};

let lanes = Object.keys(LANES);
const extra: string[] = [];
const args = Bun.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  const a = args[i]!;
  if (a === "--lanes" || a.startsWith("--lanes=")) {
    lanes = (a.includes("=") ? a.slice(8) : args[++i] ?? "").split(",").filter(Boolean);
    const unknown = lanes.filter((l) => !(l in LANES));
    if (unknown.length || !lanes.length) {
      console.error(`npm test: --lanes takes a comma-separated list of ${Object.keys(LANES).join(", ")}`);
      process.exit(2);
    }
  } else extra.push(a);
}

/** The last "N pass" / "N fail" / "N skip" summary lines bun test printed. */
function counts(text: string) {
  const last = (word: string) => {
    const all = [...text.matchAll(new RegExp(`^\\s*(\\d+) ${word}$`, "gm"))];
    return all.length ? Number(all.at(-1)![1]) : 0;
  };
  return { pass: last("pass"), fail: last("fail"), skip: last("skip") };
}

const results: string[] = [];
/** Each lane's failing tests, repeated at the end: CI keeps only the tail of a long log. */
const failures: string[] = [];
let total = { pass: 0, fail: 0, skip: 0 };
let failed = false;
for (const name of lanes) {
  const argv = LANES[name]!(extra);
  console.log(`\n== lane ${name}: ${argv.slice(1).join(" ")}`);
  const started = performance.now();
  const proc = Bun.spawn(argv, { cwd: REPO, stdin: "ignore", stdout: "pipe", stderr: "pipe", env: process.env });
  let text = "";
  const pump = async (stream: ReadableStream<Uint8Array>, out: NodeJS.WriteStream) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      const s = decoder.decode(chunk, { stream: true });
      text += s;
      out.write(s);
    }
  };
  await Promise.all([pump(proc.stdout, process.stdout), pump(proc.stderr, process.stderr)]);
  const rc = await proc.exited;
  const c = counts(text);
  // A lane that failed without a failing test (no boot, a timeout, a crash) still counts as a failure.
  if (rc !== 0 && c.fail === 0) c.fail = 1;
  failed ||= rc !== 0;
  total = { pass: total.pass + c.pass, fail: total.fail + c.fail, skip: total.skip + c.skip };
  const seconds = Math.round((performance.now() - started) / 1000);
  const line = `${name}: ${c.pass} passed, ${c.fail} failed, ${c.skip} skipped`;
  console.log(line);
  results.push(`${line} (exit ${rc}, ${seconds} s)`);
  for (const m of text.matchAll(/^\(fail\) (.*)$/gm)) failures.push(`${name}: ${m[1]}`);
  if (rc !== 0 && !/^\(fail\) /m.test(text)) failures.push(`${name}: exited ${rc} with no failing test (no boot, a timeout or a crash; the lane's log above says which)`);
}
console.log("\n== lanes");
for (const r of results) console.log(`  ${r}`);
if (failures.length) {
  console.log("\n== failed");
  for (const f of failures) console.log(`  ${f}`);
}
console.log(`${total.pass} passed, ${total.fail} failed, ${total.skip} skipped`);
process.exit(failed ? 1 : 0);
