// config/container-notifier.service as `hookshim install --notifier-service` writes it: a unit that
// systemd-analyze verify accepts (systemd-analyze runs without systemd as PID 1). Starting it, its
// restart after kill -9 and its journal are tested where systemd is PID 1 (test/systemd/).
import { afterAll, expect } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { notifierUnit } from "../../lib/cli/install-service.ts";
import { describeNeeds, needs } from "../support/prereq.ts";
import { BUN, CLI } from "../support/build.ts";

const tmp = mkdtempSync(join(tmpdir(), `hookshim-unit-${process.pid}-`));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function cli(args: string[]) {
  const r = Bun.spawnSync([BUN, CLI, ...args], { stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode ?? -1, out: r.stdout.toString(), err: r.stderr.toString() };
}

describeNeeds(["systemd-analyze"], "container-notifier.service", () => {
  needs("systemd-analyze")("install --notifier-service writes a unit running the given binary that systemd-analyze verify accepts", () => {
    const r = cli(["install", "--notifier-service", "--unit-dir", tmp, "--binary", BUN]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const file = join(tmp, "container-notifier.service");
    const text = readFileSync(file, "utf8");
    expect(text).toContain(`\nExecStart=${BUN} notifier --json\n`);
    expect(text).toContain("\nRestart=always\n");
    const v = Bun.spawnSync(["systemd-analyze", "verify", file], { stdout: "pipe", stderr: "pipe" });
    expect(v.stderr.toString()).toBe("");
    expect(v.exitCode).toBe(0);
    expect(cli(["install", "--notifier-service", "--unit-dir", tmp, "--uninstall"]).code).toBe(0);
    expect(existsSync(file)).toBe(false);
  });
  needs("systemd-analyze")("a binary path the unit cannot hold is refused with exit 2", () => {
    const r = cli(["install", "--notifier-service", "--unit-dir", tmp, "--binary", "/opt/my hookshim"]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("/opt/my hookshim: ");
    expect(() => notifierUnit("/x/$HOME")).toThrow(/must not hold/);
    expect(existsSync(join(tmp, "container-notifier.service"))).toBe(false);
  });
});
