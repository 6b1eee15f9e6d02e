// The compiled hookshim for e2e tests and benchmarks, built exactly as `npm run build` builds it
// (the flags are read from package.json, so the two cannot drift apart).
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const REPO = join(import.meta.dir, "../..");
export const BUN = join(REPO, "node_modules/.bin/bun");
export const CLI = join(REPO, "main.ts");

/**
 * The `bun build` arguments of package.json's build script, without --outfile, --root and the entry
 * points: what any compiled program here is built with (the floor too, whose source lies elsewhere).
 */
export function buildFlags(): string[] {
  const words = buildWords();
  return words.filter((w, i) => !w.endsWith(".ts") && w !== "--root" && words[i - 1] !== "--root");
}

/** The build script's --root and its extra entry points after the CLI (workers, found by their embedded path). */
function cliOnlyWords(): string[] {
  const words = buildWords();
  const at = words.indexOf("--root");
  return [...(at >= 0 ? ["--root", words[at + 1]!] : []), ...words.filter((w) => w.endsWith(".ts") && w !== "main.ts")];
}

function buildWords(): string[] {
  const script: string = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")).scripts.build;
  const words = script.split(/\s+/);
  const start = words.indexOf("build");
  const out: string[] = [];
  for (let i = start; i < words.length; i++) {
    if (words[i] === "--outfile") i++;
    else out.push(words[i]!);
  }
  return out;
}

/** Compile `entry` (default: the hookshim CLI, with the build script's extra entry points) to `outfile`; returns the error text on failure. */
export function compile(outfile: string, entry = CLI): { ok: true } | { ok: false; error: string } {
  const extra = entry === CLI ? cliOnlyWords() : [];
  const r = Bun.spawnSync([BUN, ...buildFlags(), "--outfile", outfile, entry, ...extra], { cwd: REPO, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode === 0) return { ok: true };
  const text = r.stderr.toString() + r.stdout.toString();
  return { ok: false, error: text.split("\n").filter((l) => /error/i.test(l)).slice(0, 3).join(" | ") || `bun build exited ${r.exitCode}` };
}

/**
 * The Bun floor: a compiled program (same flags) that only reads stdin, as a hook must. Benchmarks
 * report hookshim's start-up beside it. Built in `dir`; returns its path.
 */
export function compileFloor(dir: string): string {
  const src = join(dir, "floor.ts");
  writeFileSync(src, `import { readSync } from "node:fs";\nconst b = Buffer.alloc(65536);\nwhile (readSync(0, b, 0, b.length, null) > 0);\n`);
  const out = join(dir, "floor");
  const r = compile(out, src);
  if (!r.ok) throw new Error(`building the floor program: ${r.error}`);
  return out;
}
