// The layering of docs/architecture.md, checked: entry points (main.ts, hooks/, shim/, lib/cli) →
// lib/* → lib/bpf → lib/sys. Reads every source file's import specifiers (static, re-exports and
// dynamic import() with a literal), so a lazy import counts as much as an eager one.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const REPO = join(import.meta.dir, "../..");
const SOURCES = ["main.ts", ...["lib", "hooks", "shim", "bpf"].flatMap((d) => [...new Bun.Glob(`${d}/**/*.ts`).scanSync({ cwd: REPO })])].sort();

interface Edge {
  from: string;
  /** repository-relative path, or the bare specifier (bun:ffi, node:fs, zod) */
  to: string;
}

function importsOf(file: string): Edge[] {
  const text = readFileSync(join(REPO, file), "utf8");
  const edges: Edge[] = [];
  for (const m of text.matchAll(/(?:^|[\s;}])(?:import|export)\s[^"';]*?from\s*["']([^"']+)["']|import\s*\(\s*["']([^"']+)["']\s*\)|^import\s*["']([^"']+)["']/gm)) {
    const spec = (m[1] ?? m[2] ?? m[3])!;
    edges.push({ from: file, to: spec.startsWith(".") ? relative(REPO, resolve(dirname(join(REPO, file)), spec)) : spec });
  }
  return edges;
}

const EDGES = SOURCES.flatMap(importsOf);

/** The unit the one-way rule is about: lib/<area> for libraries, the top folder otherwise. */
function area(path: string): string {
  const parts = path.split("/");
  if (parts.length === 1) return parts[0]!;
  return parts[0] === "lib" && parts.length > 2 ? `lib/${parts[1]}` : parts[0]!;
}

describe("layering", () => {
  test("the scan sees the tree (imports of every kind are found)", () => {
    expect(SOURCES.length).toBeGreaterThan(100);
    expect(EDGES.some((e) => e.from === "main.ts" && e.to === "hooks/main.ts")).toBe(true); // dynamic import()
    expect(EDGES.some((e) => e.from.startsWith("lib/sys/") && e.to === "bun:ffi")).toBe(true);
  });

  test("nothing under lib/ imports lib/cli, hooks/ or shim/ (lib/cli itself only its own files)", () => {
    const bad = EDGES.filter((e) => e.from.startsWith("lib/") && (e.to.startsWith("hooks/") || e.to.startsWith("shim/") || (e.to.startsWith("lib/cli/") && !e.from.startsWith("lib/cli/"))));
    expect(bad).toEqual([]);
  });

  test("hooks/ and shim/ do not import each other, and nothing but main.ts imports either", () => {
    const bad = EDGES.filter((e) => (e.to.startsWith("hooks/") || e.to.startsWith("shim/")) && e.from !== "main.ts" && area(e.from) !== area(e.to));
    expect(bad).toEqual([]);
  });

  test("only lib/sys imports bun:ffi", () => {
    expect(EDGES.filter((e) => e.to === "bun:ffi" && !e.from.startsWith("lib/sys/"))).toEqual([]);
  });

  test("lib/sys and lib/bpf import nothing above them", () => {
    const bad = EDGES.filter((e) => {
      if (!e.to.includes("/") || !SOURCES.includes(e.to)) return false; // packages and node:
      if (e.from.startsWith("lib/sys/")) return !e.to.startsWith("lib/sys/") && e.to !== "lib/errors.ts";
      if (e.from.startsWith("lib/bpf/")) return !/^lib\/(bpf|sys)\//.test(e.to) && e.to !== "lib/errors.ts";
      return false;
    });
    expect(bad).toEqual([]);
  });

  test("lib/errors.ts imports nothing of the project", () => {
    expect(EDGES.filter((e) => e.from === "lib/errors.ts" && SOURCES.includes(e.to))).toEqual([]);
  });

  test("no import cycle between folders (lib/<area>, hooks, shim, bpf, main.ts)", () => {
    const graph = new Map<string, Set<string>>();
    for (const e of EDGES) {
      if (!SOURCES.includes(e.to)) continue;
      const a = area(e.from), b = area(e.to);
      if (a === b) continue;
      if (!graph.has(a)) graph.set(a, new Set());
      graph.get(a)!.add(b);
    }
    const cycles: string[] = [];
    const state = new Map<string, "open" | "done">();
    const path: string[] = [];
    const visit = (n: string) => {
      state.set(n, "open");
      path.push(n);
      for (const m of graph.get(n) ?? []) {
        if (state.get(m) === "open") cycles.push([...path.slice(path.indexOf(m)), m].join(" → "));
        else if (!state.has(m)) visit(m);
      }
      path.pop();
      state.set(n, "done");
    };
    for (const n of [...graph.keys()].sort()) if (!state.has(n)) visit(n);
    expect(cycles).toEqual([]);
  });
});
