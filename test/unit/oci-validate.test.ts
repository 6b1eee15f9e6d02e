import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { closeSync, ftruncateSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const MAIN = join(import.meta.dir, "../../main.ts");
const FIXTURES = join(import.meta.dir, "../../../shared/fixtures");

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "hookshim-validate-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function validate(...args: string[]) {
  const p = Bun.spawnSync([process.execPath, MAIN, "validate", ...args]);
  return { code: p.exitCode, stdout: p.stdout.toString(), stderr: p.stderr.toString().split("\n").filter(Boolean) };
}

function put(name: string, doc: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, typeof doc === "string" ? doc : JSON.stringify(doc));
  return file;
}

const fixture = (rel: string) => JSON.parse(readFileSync(join(FIXTURES, rel), "utf8"));

describe("hookshim validate", () => {
  test("fixtures are valid: exit 0, nothing printed", () => {
    for (const rel of ["bundles/podman-4.3.json", "bundles/containerd-1.6.json", "bundles/runc-1.1-spec.json", "states/podman-4.3-prestart.json", "states/podman-4.3-poststop.json"]) {
      const r = validate(join(FIXTURES, rel));
      expect({ rel, ...r }).toEqual({ rel, code: 0, stdout: "", stderr: [] });
    }
  });

  test("an invalid config: exit 2, one `FILE: path: message` line per problem", () => {
    const s = fixture("bundles/podman-4.3.json");
    s.linux.resources.devices.push({ allow: true }, { allow: true, access: "rwx" });
    s.hooks = { prestart: [{ path: "hook", timeout: 0 }] };
    const file = put("config.json", s);
    const r = validate(file);
    expect(r.code).toBe(2);
    expect(r.stderr).toEqual([
      `${file}: hooks.prestart[0].path: "hook" is not an absolute path`,
      `${file}: hooks.prestart[0].timeout: must be > 0, got 0`,
      `${file}: linux.resources.devices[3].access: "x" is not one of r, w, m`,
    ]);
  });

  test("kinds are inferred; --kind overrides", () => {
    const state = put("state.json", { ...fixture("states/podman-4.3-prestart.json"), status: "paused" });
    expect(validate(state).stderr).toEqual([`${state}: status: "paused" is not one of creating, created, running, stopped`]);
    const hook = put("hook.json", { version: "1.0.0", hook: { path: "/bin/sh" }, when: { always: true }, stages: ["prestart", "later"] });
    expect(validate(hook).stderr).toEqual([
      `${hook}: stages[1]: "later" is not one of prestart, createRuntime, createContainer, startContainer, poststart, poststop`,
    ]);
    const legacy = put("legacy.json", { hook: "/bin/sh", stage: ["prestart"], cmds: ["["] });
    const r = validate(legacy);
    expect(r.code).toBe(2);
    expect(r.stderr[0]).toStartWith(`${legacy}: cmds[0]: invalid regular expression "["`);
    // a state checked as a config misses its root, among others
    const asConfig = validate("--kind", "config", join(FIXTURES, "states/podman-4.3-prestart.json"));
    expect(asConfig.code).toBe(2);
    expect(asConfig.stderr).toContain(`${join(FIXTURES, "states/podman-4.3-prestart.json")}: root: required`);
    expect(validate("--kind=state", join(FIXTURES, "states/podman-4.3-poststop.json")).code).toBe(0);
  });

  test("malformed JSON and oversized files: exit 2 with the file and the reason", () => {
    const bad = put("bad.json", '{"ociVersion": "1.0.2",');
    const r = validate(bad);
    expect(r.code).toBe(2);
    expect(r.stderr).toHaveLength(1);
    expect(r.stderr[0]).toStartWith(`hookshim: ${bad}: not valid JSON: `);
    const big = join(dir, "big.json");
    const fd = openSync(big, "w");
    ftruncateSync(fd, 100 * 1024 * 1024);
    closeSync(fd);
    const b = validate(big);
    expect(b.code).toBe(2);
    expect(b.stderr).toEqual([`hookshim: ${big}: too large (104857600 bytes, the limit is 16777216)`]);
    rmSync(big);
    const missing = validate(join(dir, "missing.json"));
    expect(missing).toMatchObject({ code: 2, stderr: [`hookshim: ${join(dir, "missing.json")}: cannot open: ENOENT`] });
  });

  test("usage errors exit 2", () => {
    expect(validate().code).toBe(2);
    const r = validate("--kind", "bundle", join(FIXTURES, "bundles/podman-4.3.json"));
    expect(r.code).toBe(2);
    expect(r.stderr).toEqual(['hookshim validate: --kind must be one of config, state, hooks, hookshim-config, not "bundle"']);
  });
});
