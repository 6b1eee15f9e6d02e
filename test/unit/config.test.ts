// hookshim's own config file: strict schemas, the nearest known key for a typo, no silent defaults
// where a missing field would change what is allowed; `validate --kind hookshim-config` and doctor.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { configProblems, nearestKey, parseConfig } from "../../lib/config/index.ts";
import { InputError } from "../../lib/errors.ts";

const MAIN = join(import.meta.dir, "../../main.ts");
const dir = mkdtempSync(join(tmpdir(), `hookshim-config-${process.pid}-`));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, content: unknown) => {
  const p = join(dir, name);
  writeFileSync(p, typeof content === "string" ? content : JSON.stringify(content));
  return p;
};
const tun = (extra: object) => ({ devices: { rules: [{ allow: false, type: "c", major: 10, minor: 200, access: "rwm", ...extra }] } });

describe("strict config (issue 15 #5)", () => {
  test("unknown keys are errors with the path and the nearest known key", () => {
    expect(configProblems({ failmode: "open" })).toEqual(["failmode: unknown key (did you mean failMode?)"]);
    expect(configProblems({ device: { rules: [] } })).toEqual(["device: unknown key (did you mean devices?)"]);
    expect(configProblems(tun({ acess: "rw" }))).toContain("devices.rules[0].acess: unknown key (did you mean access?)");
    expect(configProblems({ runtime: { pth: "/usr/bin/runc" } })).toEqual(["runtime.pth: unknown key (did you mean path?)"]);
    expect(configProblems({ devices: { requests: { allow: true } } })).toEqual(["devices.requests.allow: unknown key (did you mean allowed?)"]);
    expect(configProblems({ zzz: 1 })[0]).toStartWith("zzz: unknown key (known: store, bpffs");
    expect(nearestKey("FAILMODE", ["failMode", "store"])).toBe("failMode");
    expect(nearestKey("xyz", ["failMode", "store"])).toBeUndefined();
  });

  test("a misspelt value is named; every problem is reported", () => {
    expect(configProblems({ failMode: "opne" })).toEqual(['failMode: "opne" is not one of closed, open']);
    expect(configProblems({ failmode: "open", logLevel: "loud" })).toHaveLength(2);
  });

  test("no silent default where a missing field changes what is allowed", () => {
    // a host rule without type would be "a": every device
    expect(configProblems({ devices: { rules: [{ allow: true, major: 1, minor: 3, access: "rw" }] } })).toEqual(["devices.rules[0].type: required"]);
    // a deny without access would deny nothing
    expect(configProblems(tun({ access: undefined }))).toEqual(["devices.rules[0].access: required"]);
    expect(configProblems(tun({ access: "" }))[0]).toStartWith("devices.rules[0].access: access is one or more of r, w and m");
    // a b/c rule without major would be any major
    expect(configProblems({ devices: { rules: [{ allow: false, type: "c", minor: 200, access: "rw" }] } })[0]).toStartWith("devices.rules[0].major: required");
    // a permitted entry without type would permit block devices too
    expect(configProblems({ devices: { requests: { allowed: true, permitted: [{ allow: true, major: 10, minor: null, access: "rw" }] } } }))
      .toEqual(["devices.requests.permitted[0].type: required"]);
    expect(configProblems(tun({}))).toEqual([]);
    expect(configProblems({ devices: { rules: [{ allow: false, type: "a", access: "rwm" }] } })).toEqual([]);
  });

  test("the README's example config is valid", () => {
    const readme = readFileSync(join(import.meta.dir, "../../README.md"), "utf8");
    const example = /## Configuration[\s\S]*?```json\n([\s\S]*?)```/.exec(readme)![1]!;
    expect(configProblems(JSON.parse(example))).toEqual([]);
  });

  test("parseConfig throws one InputError line naming the file", () => {
    expect(() => parseConfig({ failmode: "open" }, "/etc/hookshim/config.json")).toThrow(
      new InputError("/etc/hookshim/config.json: failmode: unknown key (did you mean failMode?)"),
    );
  });
});

async function cli(env: Record<string, string | undefined>, ...args: string[]) {
  const p = Bun.spawn([process.execPath, MAIN, ...args], { stdout: "pipe", stderr: "pipe", env: { ...process.env, HOOKSHIM_CONFIG: undefined, ...env } });
  const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]);
  return { code: await p.exited, out, err };
}

describe("validate --kind hookshim-config and doctor (issue 15 #5)", () => {
  test("validate: 0 and quiet when valid; 2 and one line per problem otherwise", async () => {
    const good = file("good.json", { failMode: "open", ...tun({}) });
    expect(await cli({}, "validate", "--kind", "hookshim-config", good)).toEqual({ code: 0, out: "", err: "" });
    const bad = file("bad.json", { failmode: "open", devices: { rules: [{ allow: false, type: "c", major: 10, minor: 200 }] } });
    const r = await cli({}, "validate", "--kind", "hookshim-config", bad);
    expect(r.code).toBe(2);
    expect(r.err.trim().split("\n").sort()).toEqual([
      `${bad}: devices.rules[0].access: required`,
      `${bad}: failmode: unknown key (did you mean failMode?)`,
    ]);
  });

  test("doctor checks the active config: an invalid one is `missing` and exit 2", async () => {
    const bad = file("doctor-bad.json", { failMode: "opne" });
    const r = await cli({ HOOKSHIM_CONFIG: bad }, "doctor");
    expect(r.code).toBe(2);
    expect(r.out).toContain(`missing  config: ${bad}: failMode: "opne" is not one of closed, open`);
    const good = file("doctor-good.json", { failMode: "open" });
    expect((await cli({ HOOKSHIM_CONFIG: good }, "doctor")).out).toContain(`ok       config: ${good}`);
  });
});
