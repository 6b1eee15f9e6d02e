// The gadget framework without privileges: parameters, columns, sorting, output, filters, and the
// pure halves of the gadgets (exit records, cgroup samples, runtime detection).
import { describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  formatTable, tableRow, tableHeader, rowToJSON, sortRows, parseSort, parseOutput,
  truncate, formatBytes, runGadget, matchesFilter, decodeExitRecord, exitRow, cpuPercent, sampleCgroup, v1Controllers,
  ociRuntimeOf, gadgetHelp, gadgetValues, findGadget, GADGETS, type Column, type Gadget,
} from "../../lib/gadgets/index.ts";
import { HelpRequest, parseCommandLine, parseDuration, type OptionSpec } from "../../lib/options/index.ts";
import { EXIT_RECORD } from "../../bpf/exittrace.ts";
import { UsageError } from "../../lib/errors.ts";

const CLI = join(import.meta.dir, "../../main.ts");
const BUN = process.execPath;

describe("parameters", () => {
  test("durations in Go's notation, plus days (store gc --older-than 2d)", () => {
    expect(parseDuration("2d")).toBe(172_800_000);
    expect(parseDuration("0")).toBe(0);
    expect(parseDuration("1h30m")).toBe(5_400_000);
    expect(parseDuration("1s")).toBe(1000);
    expect(parseDuration("500ms")).toBe(500);
    expect(parseDuration("1m30s")).toBe(90_000);
    expect(parseDuration("1.5s")).toBe(1500);
    expect(parseDuration("250us")).toBe(0.25);
    expect(parseDuration("x")).toBeUndefined();
    expect(parseDuration("10")).toBeUndefined();
    expect(parseDuration("")).toBeUndefined();
    expect(parseDuration("1s x")).toBeUndefined();
  });

  const specs: OptionSpec[] = [
    { name: "interval", kind: "duration", min: 1, default: "1s", description: "" },
    { name: "max-rows", kind: "int", min: 0, default: "20", description: "" },
    { name: "output", short: "o", kind: "enum", values: ["json", "columns"], default: "columns", description: "" },
    { name: "runtime", kind: "list", description: "" },
    { name: "all", kind: "bool", description: "" },
    { name: "container", kind: "string", description: "" },
  ];
    // parsed as `hookshim top cgroups ARGS` would be
  const parseParams = (argv: string[]) =>
    parseCommandLine({ name: "hookshim", summary: "", subcommands: [{ name: "top", summary: "", subcommands: [{ name: "cgroups", summary: "", options: specs }] }] }, ["top", "cgroups", ...argv], []);
  const error = async (argv: string[]) => {
    try {
      await parseParams(argv);
    } catch (e) {
      expect(e).toBeInstanceOf(UsageError);
      return (e as Error).message;
    }
    throw new Error("no error");
  };

  test("defaults fill what is not given, values have their kinds", async () => {
    const p = await parseParams(["--runtime", "runc,podman", "--runtime=crun", "-o", "json", "--all"]);
    expect(p.values.duration("interval")).toBe(1000);
    expect(p.values.int("max-rows")).toBe(20);
    expect(p.values.str("output")).toBe("json");
    expect(p.values.list("runtime")).toEqual(["runc", "podman", "crun"]);
    expect(p.values.bool("all")).toBe(true);
    expect(p.values.str("container")).toBeUndefined();
    expect(parseParams(["-h"])).rejects.toBeInstanceOf(HelpRequest);
  });

  test("each bad value is one line naming the parameter and the problem", async () => {
    expect(await error(["--interval", "x"])).toBe(`hookshim top cgroups: --interval: "x" is not a duration (e.g. 1s, 500ms)`);
    expect(await error(["--interval", "0s"])).toBe(`hookshim top cgroups: --interval: "0s" is too short (at least 1ms)`);
    expect(await error(["--max-rows", "ten"])).toBe(`hookshim top cgroups: --max-rows: "ten" is not an integer`);
    expect(await error(["--max-rows", "-3"])).toBe(`hookshim top cgroups: --max-rows: "-3" is too small (at least 0)`);
    expect(await error(["-o", "yaml"])).toBe(`hookshim top cgroups: --output: "yaml" is not one of json, columns`);
    expect(await error(["--colour"])).toBe("hookshim top cgroups: unknown option --colour");
    expect(await error(["--interval"])).toBe("hookshim top cgroups: option --interval needs a value");
  });
});

interface Row {
  containerId: string;
  containerName: string;
  runtime: string;
  cpu: number | null;
  mem: bigint;
}
const cols: Column<Row>[] = [
  { name: "container", json: "containerId", width: 12, value: (r) => r.containerId },
  { name: "name", json: "containerName", width: 6, value: (r) => r.containerName },
  { name: "runtime", width: 8, value: (r) => r.runtime, hidden: true },
  { name: "cpu", width: 5, align: "right", value: (r) => r.cpu },
  { name: "mem", width: 6, align: "right", value: (r) => r.mem },
];
const rows: Row[] = [
  { containerId: "aaaa", containerName: "web", runtime: "runc", cpu: 1.5, mem: 300n },
  { containerId: "bbbb", containerName: "database-primary", runtime: "podman", cpu: null, mem: 100n },
  { containerId: "cccc", containerName: "cache", runtime: "runc", cpu: 7, mem: 300n },
];

describe("columns", () => {
  test("a table: declared widths, right alignment, truncation with an ellipsis, last column whole", () => {
    expect(truncate("database-primary", 6)).toBe("datab…");
    expect(truncate("web", 6)).toBe("web");
    const shown = cols.filter((c) => !c.hidden);
    expect(tableHeader(shown)).toBe("CONTAINER    NAME     CPU MEM");
    expect(tableRow(shown, rows[1]!)).toBe("bbbb         datab…     -    100");
    expect(formatTable(shown, rows).split("\n")).toEqual([
      "CONTAINER    NAME     CPU MEM",
      "aaaa         web      1.5    300",
      "bbbb         datab…     -    100",
      "cccc         cache      7    300",
    ]);
  });

  test("JSON lines: every column, hidden ones too, by its JSON name; u64 as numbers", () => {
    expect(JSON.parse(rowToJSON(cols, rows[1]!))).toEqual({ containerId: "bbbb", containerName: "database-primary", runtime: "podman", cpu: null, mem: 100 });
    expect(Object.keys(JSON.parse(rowToJSON(cols, rows[0]!)))).toEqual(["containerId", "containerName", "runtime", "cpu", "mem"]);
  });

  test("sorting: several keys, descending with '-', stable, nulls last either way", () => {
    const ids = (rs: Row[]) => rs.map((r) => r.containerId);
    expect(ids(sortRows(rows, parseSort("-cpu", cols, "x"), cols))).toEqual(["cccc", "aaaa", "bbbb"]);
    expect(ids(sortRows(rows, parseSort("cpu", cols, "x"), cols))).toEqual(["aaaa", "cccc", "bbbb"]);
    expect(ids(sortRows(rows, parseSort("-mem,name", cols, "x"), cols))).toEqual(["cccc", "aaaa", "bbbb"]);
    expect(ids(sortRows(rows, parseSort("mem", cols, "x"), cols))).toEqual(["bbbb", "aaaa", "cccc"]);
    expect(ids(sortRows(rows, [], cols))).toEqual(["aaaa", "bbbb", "cccc"]);
    expect(() => parseSort("-cpu,size", cols, "hookshim top cgroups")).toThrow(
      `hookshim top cgroups: --sort: unknown column "size" (columns: container, name, runtime, cpu, mem)`,
    );
  });

  test("--output modes", () => {
    expect(parseOutput("json", cols, "x")).toEqual({ kind: "json" });
    expect(parseOutput("columns", cols, "x")).toEqual({ kind: "columns", columns: undefined });
    expect(parseOutput("columns=runtime,container", cols, "x")).toEqual({ kind: "columns", columns: ["runtime", "container"] });
    expect(() => parseOutput("columns=runtime,pid", cols, "g")).toThrow(`g: --output: unknown column "pid"`);
    expect(() => parseOutput("yaml", cols, "g")).toThrow(`g: --output: "yaml" is not one of json, columns, columns=NAME,...`);
  });

  test("bytes in binary units", () => {
    expect(formatBytes(null)).toBe("-");
    expect(formatBytes(1000)).toBe("1000");
    expect(formatBytes(1536)).toBe("1.5Ki");
    expect(formatBytes(300 * 1024 * 1024)).toBe("300Mi");
  });
});

describe("running a gadget", () => {
  const oneShot: Gadget<Row> = {
    name: "rows",
    category: "snapshot",
    type: "one-shot",
    description: "test rows",
    params: [],
    defaults: { sort: "-cpu" },
    columns: cols,
    async run(ctx) {
      ctx.publish(rows);
    },
  };
  const run = async (g: Gadget<Row>, argv: string[]) => {
    let out = "";
    const code = await runGadget(g, await gadgetValues(g as Gadget<never>, argv), { store: "unused", write: (t) => void (out += t), warn: () => {} });
    return { code, out };
  };

  test("filters, sort and --max-rows apply to every one-shot gadget", async () => {
    expect((await run(oneShot, [])).out.split("\n")[1]).toStartWith("cccc");
    const json = (await run(oneShot, ["-o", "json", "--runtime", "runc", "--max-rows", "1"])).out.trim().split("\n");
    expect(json.map((l) => JSON.parse(l).containerId)).toEqual(["cccc"]);
    const byName = (await run(oneShot, ["-o", "json", "--container", "database-primary"])).out.trim().split("\n");
    expect(byName.map((l) => JSON.parse(l).containerId)).toEqual(["bbbb"]);
    const byPrefix = (await run(oneShot, ["-o", "columns=name,runtime", "-c", "aa"])).out;
    expect(byPrefix).toBe("NAME   RUNTIME\nweb    runc\n");
  });

  test("a trace gadget prints its header when ready, then rows as they come", async () => {
    const trace: Gadget<Row> = {
      ...oneShot,
      name: "events",
      category: "trace",
      type: "trace",
      async run(ctx) {
        ctx.ready();
        for (const r of rows) ctx.emit(r);
      },
    };
    const { out } = await run(trace, ["--runtime", "podman"]);
    expect(out).toBe("CONTAINER    NAME     CPU MEM\nbbbb         datab…     -    100\n");
    await expect(run(trace, ["--sort", "cpu"])).rejects.toThrow("unknown option --sort");
  });

  test("an intervals gadget ends at --timeout", async () => {
    let ticks = 0;
    const top: Gadget<Row> = {
      ...oneShot,
      name: "tick",
      category: "top",
      type: "intervals",
      async run(ctx) {
        while (!ctx.signal.aborted) {
          ctx.publish(rows.slice(0, 1));
          ticks++;
          await Bun.sleep(5);
        }
      },
    };
    const { code, out } = await run(top, ["--timeout", "50ms", "-o", "json"]);
    expect(code).toBe(0);
    expect(ticks).toBeGreaterThan(0);
    expect(out.trim().split("\n")).toHaveLength(ticks);
  });

  test("--help lists options with defaults and the columns", () => {
    const help = gadgetHelp(findGadget("top", "cgroups")!);
    expect(help).toContain("usage: hookshim top cgroups [OPTIONS]");
    expect(help).toContain("--interval DURATION");
    expect(help).toContain("(default -cpu,-memory)");
    expect(help).toContain("cgroupid*");
  });

  test("the catalog: each category/name once, column names unique", () => {
    const keys = GADGETS.map((g) => `${g.category} ${g.name}`);
    expect(keys.sort()).toEqual(["snapshot containers", "top cgroups", "trace exit", "trace lifecycle"]);
    for (const g of GADGETS) {
      const names = g.columns.map((c) => c.name);
      expect(new Set(names).size).toBe(names.length);
      expect(names).toContain(g.category === "trace" && g.name === "lifecycle" ? "id" : "container");
    }
  });

  test("container filters", () => {
    const row = { containerId: "abcdef", containerName: "web", runtime: "runc" };
    expect(matchesFilter({ container: "", runtimes: [] }, row)).toBe(true);
    expect(matchesFilter({ container: "abc", runtimes: [] }, row)).toBe(true);
    expect(matchesFilter({ container: "web", runtimes: ["runc"] }, row)).toBe(true);
    expect(matchesFilter({ container: "we", runtimes: [] }, row)).toBe(false);
    expect(matchesFilter({ container: "", runtimes: ["podman"] }, row)).toBe(false);
  });
});

describe("the CLI", () => {
  const cli = (...args: string[]) => {
    const r = Bun.spawnSync([BUN, CLI, ...args], { stdin: "ignore" });
    return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
  };

  test("a bad parameter: exit 2 and one line naming it", () => {
    const r = cli("top", "cgroups", "--interval", "x");
    expect(r.code).toBe(2);
    expect(r.err).toBe(`hookshim top cgroups: --interval: "x" is not a duration (e.g. 1s, 500ms)\n`);
    expect(r.out).toBe("");
    const s = cli("snapshot", "containers", "--sort", "-size");
    expect(s.code).toBe(2);
    expect(s.err.trim().split("\n")).toHaveLength(1);
    expect(s.err).toContain(`--sort: unknown column "size"`);
  });

  test("unknown gadget, and the category's list of gadgets", () => {
    const r = cli("trace", "open");
    expect(r.code).toBe(2);
    expect(r.err).toBe(`hookshim trace: unknown command "open" (see hookshim trace --help)\n`);
    const h = cli("trace", "--help");
    expect(h.code).toBe(0);
    expect(h.out).toContain("exit ");
    expect(h.out).toContain("lifecycle ");
    expect(cli("top").code).toBe(2);
  });
});

describe("gadget data", () => {
  test("an exit record from the kernel's queue, as a row", () => {
    const b = new Uint8Array(EXIT_RECORD.size);
    const v = new DataView(b.buffer);
    v.setUint32(EXIT_RECORD.tgid, 4242, true);
    v.setUint32(EXIT_RECORD.tid, 4242, true);
    v.setUint32(EXIT_RECORD.ppid, 1, true);
    v.setUint32(EXIT_RECORD.waitStatus, 3 << 8, true);
    v.setBigUint64(EXIT_RECORD.cgroupId, 777n, true);
    v.setBigUint64(EXIT_RECORD.bootNs, 5_000_000_000n, true);
    b.set(new TextEncoder().encode("sh\0garbage"), EXIT_RECORD.comm);
    const rec = decodeExitRecord(b);
    expect(rec).toEqual({ pid: 4242, tid: 4242, ppid: 1, waitStatus: 768, cgroupId: 777n, bootNs: 5_000_000_000n, comm: "sh" });
    const row = exitRow(rec, { containerId: "c1", containerName: "web", runtime: "runc" }, 1_000_000_000_000_000_000n);
    expect(row).toMatchObject({ containerId: "c1", pid: 4242, exitCode: 3, signal: null, comm: "sh" });
    expect(row.timeNs).toBe(1_000_000_005_000_000_000n);
    v.setUint32(EXIT_RECORD.waitStatus, 9, true);
    expect(exitRow(decodeExitRecord(b), undefined, 0n)).toMatchObject({ exitCode: null, signal: 9, containerId: "" });
  });

  test("CPU percent between samples", () => {
    expect(cpuPercent(1_000_000, 1_500_000, 1000)).toBe(50);
    expect(cpuPercent(undefined, 1_500_000, 1000)).toBeNull();
    expect(cpuPercent(null, 5, 1000)).toBeNull();
    expect(cpuPercent(10, 20, 0)).toBeNull();
  });

  test("cgroup samples: v2 where it has the file, else the v1 controller at the same path", () => {
    const root = mkdtempSync(join(tmpdir(), `gadgets-sample-${process.pid}-`));
    try {
      const v2 = join(root, "unified");
      mkdirSync(join(v2, "p/c"), { recursive: true });
      writeFileSync(join(v2, "p/c/cpu.stat"), "usage_usec 1234\nuser_usec 1000\nsystem_usec 234\n");
      mkdirSync(join(root, "memory/p/c"), { recursive: true });
      writeFileSync(join(root, "memory/p/c/memory.usage_in_bytes"), "4096\n");
      const v1 = { memory: join(root, "memory"), pids: join(root, "pids") };
      expect(sampleCgroup(v2, "/p/c", v1)).toEqual({ cpuUsec: 1234, memoryBytes: 4096, pids: null });
      writeFileSync(join(v2, "p/c/memory.current"), "8192\n");
      expect(sampleCgroup(v2, "/p/c", v1).memoryBytes).toBe(8192);
      expect(sampleCgroup(v2, "/gone", v1)).toEqual({ cpuUsec: null, memoryBytes: null, pids: null });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test("v1 controllers from mountinfo", () => {
    const mi = [
      "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct",
      "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory",
      "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw",
    ].join("\n");
    expect(v1Controllers(mi)).toEqual({ cpuacct: "/sys/fs/cgroup/cpu,cpuacct", memory: "/sys/fs/cgroup/memory" });
  });

  test("the OCI runtime from its state root", () => {
    const root = mkdtempSync(join(tmpdir(), `gadgets-roots-${process.pid}-`));
    try {
      mkdirSync(join(root, "runc/a"), { recursive: true });
      writeFileSync(join(root, "runc/a/state.json"), "{}");
      mkdirSync(join(root, "crun/b"), { recursive: true });
      writeFileSync(join(root, "crun/b/status"), "{}");
      const roots = [join(root, "runc"), join(root, "crun")];
      expect(ociRuntimeOf("a", roots)).toBe("runc");
      expect(ociRuntimeOf("b", roots)).toBe("crun");
      expect(ociRuntimeOf("c", roots)).toBeUndefined();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
