// The whole tree type-checks: `tsc --noEmit -p .` (tsconfig.json: lib, bpf, hooks, shim, test,
// config) reports nothing. Run with this Bun, so no node is needed; about 10-25 s on the 2-core
// development machine.
import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";

const REPO = join(import.meta.dir, "../..");
const TSC = join(REPO, "node_modules/typescript/bin/tsc");

test("tsc --noEmit reports no type errors", async () => {
  expect(existsSync(TSC) ? "" : `${TSC} is missing: run npm install (typescript is a devDependency)`).toBe("");
  const p = Bun.spawn([process.execPath, TSC, "--noEmit", "-p", REPO], { cwd: REPO, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  // the errors themselves are the failure message
  expect((out + err).trim()).toBe("");
  expect(code).toBe(0);
}, 90_000);
