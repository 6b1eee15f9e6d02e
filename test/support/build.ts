// The compiled hookshim for e2e tests and benchmarks, built exactly as `npm run build` builds it
// (the flags are read from package.json, so the two cannot drift apart).
import { readFileSync } from "node:fs";
import { join } from "node:path";

export const REPO = join(import.meta.dir, "../..");
export const BUN = join(REPO, "node_modules/.bin/bun");
export const CLI = join(REPO, "lib/cli/main.ts");

/** The `bun build` arguments of package.json's build script, without --outfile and the entry points. */
export function buildFlags(): string[] {
  return buildWords().filter((w) => !w.endsWith(".ts"));
}

/** The build script's entry points after the CLI: extra ones bundled into the executable (workers). */
export function extraEntryPoints(): string[] {
  return buildWords().filter((w) => w.endsWith(".ts") && w !== "lib/cli/main.ts");
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
  const extra = entry === CLI ? extraEntryPoints() : [];
  const r = Bun.spawnSync([BUN, ...buildFlags(), "--outfile", outfile, entry, ...extra], { cwd: REPO, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode === 0) return { ok: true };
  const text = r.stderr.toString() + r.stdout.toString();
  return { ok: false, error: text.split("\n").filter((l) => /error/i.test(l)).slice(0, 3).join(" | ") || `bun build exited ${r.exitCode}` };
}
