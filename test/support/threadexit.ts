// test/support/c/threadexit.c built once per test file (processes whose leader thread dies long
// before the process: see the C source). Call inside a describe; the binary is removed afterwards.
import { afterAll, beforeAll } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const C_SOURCE = join(import.meta.dir, "c/threadexit.c");

/** Registers the build; the returned function gives the binary's path once beforeAll has run. */
export function threadexitBinary(): () => string {
  let dir = "";
  let path = "";
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "hookshim-threadexit-"));
    path = join(dir, "threadexit");
    const cc = Bun.spawnSync(["cc", "-O2", "-pthread", "-o", path, C_SOURCE], { stderr: "pipe" });
    if (cc.exitCode !== 0) throw new Error(`cc: ${cc.stderr.toString()}`);
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  return () => path;
}
