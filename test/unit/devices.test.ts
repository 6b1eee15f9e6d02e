// The device-rule emulator, the rule parser and the rule sources: no privileges needed.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DevcgAccess, DeviceRuleError, formatRule, normalizeRules, parseDeviceSpec } from "../../lib/devices/index.ts";
import { Emulator, emulatorFromReduced } from "../../lib/devices/emulator.ts";
import { DevicePolicySchema, containerRuleSets, parseDeviceRequests, type DevicePolicy } from "../../lib/devices/sources.ts";
import { ContainerDevices } from "../../lib/devices/emulator.ts";
import { RUNC_ALLOWED_DEVICES } from "../../lib/devices/defaults.ts";
import { LinuxDeviceCgroupSchema, isPlainDeviceRule } from "../../lib/oci/device-cgroup.ts";
import { randomRuleSet, PROBE_DEVICES, seededRandom } from "../support/devicerules.ts";
import { expectPlainCheckWithinSchema } from "../support/plain-check.ts";

const FIXTURES = join(import.meta.dir, "../../../shared/fixtures/bundles");
const fixture = (name: string) => JSON.parse(readFileSync(join(FIXTURES, name), "utf8"));
const { READ: R, WRITE: W, MKNOD: M } = DevcgAccess;

describe("parseDeviceSpec", () => {
  test("devices.list forms", () => {
    expect(parseDeviceSpec("c 10:229 rwm")).toEqual({ type: "c", major: 10, minor: 229, access: 7 });
    expect(parseDeviceSpec("b 8:* r")).toEqual({ type: "b", major: 8, minor: -1, access: R });
    expect(parseDeviceSpec("c *:* m")).toEqual({ type: "c", major: -1, minor: -1, access: M });
    expect(parseDeviceSpec("c 1:3")).toEqual({ type: "c", major: 1, minor: 3, access: undefined });
    expect(parseDeviceSpec("a")).toEqual({ type: "a", major: -1, minor: -1, access: undefined });
  });
  test("malformed text is an error quoting it", () => {
    for (const bad of ["x 1:3 r", "c 1:3 rx", "c 1 r", "c", "c -1:3 r", "c 1:3 r w", "c 4294967295:0 r"])
      expect(() => parseDeviceSpec(bad)).toThrow(DeviceRuleError);
    expect(() => parseDeviceSpec("c 1 r")).toThrow(/"c 1 r"/);
  });
});

describe("normalizeRules", () => {
  test("OCI defaults: absent type is a, absent or null numbers are wildcards, absent access is none", () => {
    expect(normalizeRules([{ allow: false, access: "rwm" }, { allow: true, type: "c", major: 136, minor: null, access: "rw" }, { allow: true, type: "b", major: 8 }])).toEqual([
      { allow: false, type: "a", major: -1, minor: -1, access: 7 },
      { allow: true, type: "c", major: 136, minor: -1, access: R | W },
      { allow: true, type: "b", major: 8, minor: -1, access: 0 },
    ]);
  });
  test("errors name the rule index and the field", () => {
    const bad: unknown[] = [{ allow: true, type: "c", major: 1, minor: 3, access: "rw" }, { allow: true, type: "x" }];
    expect(() => normalizeRules(bad)).toThrow(/rules\[1\]: type/);
    expect(() => normalizeRules([{ allow: "yes" }])).toThrow(/rules\[0\]: allow/);
    expect(() => normalizeRules([{ allow: true, type: "c", major: 1.5 }])).toThrow(/rules\[0\]: major/);
    expect(() => normalizeRules([{ allow: true, type: "c", access: "rwx" }])).toThrow(/rules\[0\]: access/);
    expect(() => normalizeRules({})).toThrow(/array/);
    // the runtime-spec's int64, narrowed to what a device program can carry (-1 is a wildcard)
    expect(() => normalizeRules([{ allow: true, type: "c", major: 2 ** 32 - 1, minor: 0, access: "r" }])).toThrow(/rules\[0\]: major: 4294967295 is not a device number/);
    expect(() => normalizeRules([{ allow: true, type: "c", major: 1, minor: -2, access: "r" }])).toThrow(/rules\[0\]: minor: -2 is not a device number/);
    expect(() => normalizeRules([{ allow: true, type: "c", major: 1, minor: 2n ** 60n, access: "r" }])).toThrow(/rules\[0\]: minor/);
    expect(normalizeRules([{ allow: true, type: "c", major: -1, minor: null, access: "r", extra: 1 }])).toEqual([
      { allow: true, type: "c", major: -1, minor: -1, access: DevcgAccess.READ },
    ]);
    try {
      normalizeRules(bad);
    } catch (e) {
      expect((e as DeviceRuleError).index).toBe(1);
    }
  });
  test("the plain check in front of the schema accepts only what the schema accepts", () => {
    const rand = seededRandom(14);
    const generated = Array.from({ length: 40 }, () => randomRuleSet(rand)).flat();
    const edge: unknown[] = [
      null, [], "c 1:3 rw", {}, { allow: 1 }, { allow: true, type: "u" }, { allow: true, type: "c", major: 1.5 },
      { allow: true, type: "c", major: "1" }, { allow: true, major: 2 ** 63 }, { allow: true, minor: -(2 ** 64) },
      { allow: true, minor: 2n ** 60n }, { allow: true, access: "rwx" }, { allow: true, access: 7 }, { allow: true, access: "" },
      { allow: false, type: "a", major: null, minor: null, extra: { x: 1 } }, { allow: true, type: "b", major: Number.NaN },
      { allow: true, type: "c", major: Infinity }, Object.assign(Object.create(null), { allow: true, type: "c", major: 1, minor: 3, access: "rw" }),
    ];
    // it is the fast path of every generated rule, so the check is not vacuous
    expectPlainCheckWithinSchema([...generated, ...edge], isPlainDeviceRule, (r) => LinuxDeviceCgroupSchema.safeParse(r).success, generated.length);
    // and a list with one bad rule still gets the schema's message, with its index
    expect(() => normalizeRules([...generated.slice(0, 5), { allow: true, type: "c", access: "rwx" }])).toThrow(/rules\[5\]: access/);
  });
});

describe("Emulator decisions (v1 semantics)", () => {
  test("a fresh emulator denies everything", () => {
    const e = new Emulator();
    expect(e.allows("c", 1, 3, R)).toBe(false);
  });

  test("default deny: one exception must hold every requested bit", () => {
    const e = Emulator.fromRules([
      { allow: false, type: "a" },
      { allow: true, type: "c", major: 1, minor: 3, access: "r" },
      { allow: true, type: "c", major: 1, minor: null, access: "w" },
    ]);
    expect(e.allows("c", 1, 3, R)).toBe(true);
    expect(e.allows("c", 1, 3, W)).toBe(true);
    // r and w are held by different exceptions: v1 needs one that holds both
    expect(e.allows("c", 1, 3, R | W)).toBe(false);
    expect(e.allows("c", 1, 5, W)).toBe(true);
    expect(e.allows("c", 1, 5, R)).toBe(false);
    expect(e.allows("b", 1, 3, R)).toBe(false);
  });

  test("default allow with a partial deny: any denied requested bit denies (where runc's program allows)", () => {
    const e = Emulator.fromRules([
      { allow: true, type: "a", access: "rwm" },
      { allow: false, type: "c", major: 1, minor: 3, access: "w" },
    ]);
    expect(e.allows("c", 1, 3, R)).toBe(true);
    expect(e.allows("c", 1, 3, W)).toBe(false);
    expect(e.allows("c", 1, 3, R | W)).toBe(false);
    expect(e.allows("c", 1, 5, R | W)).toBe(true);
  });

  test("an a rule resets the default and drops earlier exceptions", () => {
    const e = Emulator.fromRules([
      { allow: false, type: "b", major: 8, minor: 1, access: "rwm" },
      { allow: true, type: "a" },
      { allow: false, type: "b", major: 8, minor: 2, access: "rwm" },
    ]);
    expect(e.allows("b", 8, 1, R)).toBe(true);
    expect(e.allows("b", 8, 2, R)).toBe(false);
    expect(e.defaultAllow).toBe(true);
    e.apply({ allow: false, type: "a", major: -1, minor: -1, access: 7 });
    expect(e.defaultAllow).toBe(false);
    expect(e.allows("b", 8, 1, R)).toBe(false);
  });

  test("removing on the same key subtracts bits", () => {
    const e = Emulator.fromRules([
      { allow: true, type: "c", major: 1, minor: 3, access: "rwm" },
      { allow: false, type: "c", major: 1, minor: 3, access: "w" },
    ]);
    expect(e.allows("c", 1, 3, R | M)).toBe(true);
    expect(e.allows("c", 1, 3, W)).toBe(false);
  });

  test("holes in wildcards are rejected with the rule index, as runc does", () => {
    // default deny, allow c *:* rwm, deny c 1:3 w: v1 would silently keep allowing c 1:3 w
    expect(() =>
      Emulator.fromRules([
        { allow: false, type: "a" },
        { allow: true, type: "c", major: null, minor: null, access: "rwm" },
        { allow: false, type: "c", major: 1, minor: 3, access: "w" },
      ]),
    ).toThrow(/rules\[2\] \(deny c 1:3 w\): cannot be represented.*"c \*:\* rwm"/);
    // the mirror: default allow, deny b 8:* r, allow b 8:0 r
    expect(() =>
      Emulator.fromRules([
        { allow: true, type: "a" },
        { allow: false, type: "b", major: 8, access: "r" },
        { allow: true, type: "b", major: 8, minor: 0, access: "rw" },
      ]),
    ).toThrow(/rules\[2\]/);
    // a hole that does not share access bits is fine
    const ok = Emulator.fromRules([
      { allow: true, type: "c", major: null, minor: null, access: "m" },
      { allow: false, type: "c", major: 1, minor: 3, access: "w" },
    ]);
    expect(ok.allows("c", 1, 3, M)).toBe(true);
  });

  test("a wide removal that would leave a narrower exception in force is rejected too", () => {
    expect(() =>
      Emulator.fromRules([
        { allow: true, type: "c", major: 1, minor: 3, access: "rwm" },
        { allow: false, type: "c", major: 1, minor: null, access: "rwm" },
      ]),
    ).toThrow(/rules\[1\].*"c 1:3 rwm"/);
  });

  test("runc's AllowedDevices: mknod of anything, rw only on the listed devices", () => {
    const e = Emulator.fromRules([{ allow: false, access: "rwm" }, ...RUNC_ALLOWED_DEVICES]);
    expect(e.allows("b", 8, 0, M)).toBe(true);
    expect(e.allows("b", 8, 0, R)).toBe(false);
    expect(e.allows("c", 1, 3, R | W)).toBe(true);
    expect(e.allows("c", 136, 42, R | W)).toBe(true);
    expect(e.allows("c", 10, 229, R)).toBe(false);
  });

  test("fixture bundles: podman allows fuse, containerd the standard set", () => {
    const podman = Emulator.fromRules(fixture("podman-4.3.json").linux.resources.devices);
    expect(podman.allows("c", 10, 229, R | W)).toBe(true);
    expect(podman.allows("c", 1, 3, R)).toBe(false);
    const containerd = Emulator.fromRules(fixture("containerd-1.6.json").linux.resources.devices);
    expect(containerd.allows("c", 1, 3, R | W)).toBe(true);
    expect(containerd.allows("c", 136, 0, R | W)).toBe(true);
    expect(containerd.allows("c", 10, 229, R)).toBe(false);
    const runc = Emulator.fromRules(fixture("runc-1.1-spec.json").linux.resources.devices);
    expect(runc.allows("c", 1, 3, R)).toBe(false);
  });
});

describe("Emulator reduction", () => {
  test("minimal sorted list: merged keys, empty and subsumed exceptions dropped, a rule first", () => {
    const e = Emulator.fromRules([
      { allow: true, type: "c", major: 5, minor: 0, access: "r" },
      { allow: true, type: "c", major: 1, minor: 3, access: "rw" },
      { allow: true, type: "c", major: 1, minor: 3, access: "m" },
      { allow: true, type: "c", major: 1, minor: null, access: "r" },
      { allow: true, type: "c", major: 1, minor: 5, access: "r" }, // within c 1:* r
      { allow: true, type: "b", major: 8, minor: 0 }, // no access: no exception
      { allow: true, type: "b", major: null, minor: null, access: "m" },
    ]);
    expect(e.rules().map((r) => `${r.allow ? "allow" : "deny"} ${formatRule({ type: r.type!, major: r.major ?? -1, minor: r.minor ?? -1, access: rwm(r.access!) })}`)).toEqual([
      "deny a *:* rwm",
      "allow b *:* m",
      "allow c 1:* r",
      "allow c 1:3 rwm",
      "allow c 5:0 r",
    ]);
  });

  test("reduced rules decide as the full rule set (seeded random sets)", () => {
    const rand = seededRandom(0x5eed);
    let compared = 0;
    for (let n = 0; n < 300; n++) {
      const rules = randomRuleSet(rand);
      let full: Emulator;
      try {
        full = Emulator.fromRules(rules);
      } catch (e) {
        expect(e).toBeInstanceOf(DeviceRuleError);
        continue;
      }
      const again = Emulator.fromRules(full.rules());
      const fromReduced = emulatorFromReduced(full.reduced());
      for (const d of PROBE_DEVICES)
        for (let access = 0; access <= 7; access++) {
          const want = full.allows(d.type, d.major, d.minor, access);
          expect(again.allows(d.type, d.major, d.minor, access)).toBe(want);
          expect(fromReduced.allows(d.type, d.major, d.minor, access)).toBe(want);
        }
      compared++;
    }
    expect(compared).toBeGreaterThan(100);
  });
});

function rwm(s: string): number {
  return (s.includes("r") ? R : 0) | (s.includes("w") ? W : 0) | (s.includes("m") ? M : 0);
}

describe("rule sources", () => {
  const policy = (p: Partial<DevicePolicy>): DevicePolicy => DevicePolicySchema.parse({ rules: [], requests: { allowed: false, permitted: [] }, ...p });
  const decide = (config: object, p: DevicePolicy) => {
    const sets = containerRuleSets(config, p);
    return ContainerDevices.fromRules(sets.host, sets.container);
  };
  const RUNTIME = RUNC_ALLOWED_DEVICES.length;

  test("container rules, its nodes, the runtime's defaults, host allows, then permitted requests; host denies apart", () => {
    const config = {
      linux: {
        resources: { devices: [{ allow: true, type: "a", access: "rwm" }] },
        devices: [{ path: "/dev/fuse", type: "c", major: 10, minor: 229 }, { path: "/dev/p", type: "p" }],
      },
      annotations: { "io.hookshim.devices": "c 10:229 rwm, b 8:* r" },
    };
    const sets = containerRuleSets(
      config,
      policy({
        rules: [{ allow: false, type: "b", major: 8, minor: 0, access: "w" }, { allow: true, type: "c", major: 10, minor: 200, access: "rw" }],
        requests: { allowed: true, permitted: [{ allow: true, type: "c", major: 10, minor: null, access: "rwm" }, { allow: true, type: "b", major: null, minor: null, access: "r" }] },
      }),
    );
    expect(sets.host.map((r) => r.source)).toEqual(["policy.rules[0]"]);
    expect(sets.container.map((r) => r.source)).toEqual([
      "linux.resources.devices[0]",
      "linux.devices[0]",
      ...RUNC_ALLOWED_DEVICES.map((_, i) => `runtime default devices[${i}]`),
      "policy.rules[1]",
      'annotation io.hookshim.devices entry "c 10:229 rwm"',
      'annotation io.hookshim.devices entry "b 8:* r"',
    ]);
    // privileged container, host denies writes to b 8:0
    const d = ContainerDevices.fromRules(sets.host, sets.container);
    expect(d.allows("b", 8, 0, W)).toBe(false);
    expect(d.allows("b", 8, 0, R)).toBe(true);
  });

  test("a host deny wins over a permitted annotation request (issue 15 #1)", () => {
    const p = policy({
      rules: [{ allow: false, type: "c", major: 10, minor: 200, access: "rw" }],
      requests: { allowed: true, permitted: [{ allow: true, type: "c", major: 10, minor: null, access: "rw" }] },
    });
    const d = decide({ linux: { resources: { devices: [{ allow: false, access: "rwm" }] } }, annotations: { "io.hookshim.devices": "c 10:200 rw" } }, p);
    expect(d.allows("c", 10, 200, R | W)).toBe(false);
    expect(d.allows("c", 10, 200, R)).toBe(false);
    expect(d.container!.allows("c", 10, 200, R | W)).toBe(true); // the request itself was granted
  });

  test("a natural host deny (c 10:200 rwm) is expressible beside runc's c *:* m allow (issue 15 #2)", () => {
    const p = policy({ rules: [{ allow: false, type: "c", major: 10, minor: 200, access: "rwm" }] });
    const d = decide({ linux: { resources: { devices: [{ allow: false, access: "rwm" }] } } }, p);
    expect(d.allows("c", 10, 200, M)).toBe(false);
    expect(d.allows("c", 10, 200, R)).toBe(false);
    expect(d.allows("c", 10, 201, M)).toBe(true); // the runtime's mknod-anything stays
    expect(d.allows("c", 1, 3, R | W)).toBe(true);
    expect(d.allows("c", 10, 200, 0)).toBe(true); // F_OK: no bits requested, as v1
  });

  test("an emulator error names where the rule came from", () => {
    const sets = containerRuleSets(
      { linux: { resources: { devices: [{ allow: false, type: "a" }, { allow: true, type: "c", major: 1, access: "rw" }] } } },
      policy({}),
    );
    sets.container.push({ allow: false, type: "c", major: 1, minor: 3, access: W, source: "somewhere[0]" });
    expect(() => new Emulator().applyAll(sets.container)).toThrow(/^somewhere\[0\] \(deny c 1:3 w\): cannot be represented/);
  });

  test("requests: forbidden by policy or outside what it permits are errors naming the entry", () => {
    const config = { annotations: { "io.hookshim.devices": "c 10:229 rwm" } };
    expect(() => containerRuleSets(config, policy({}))).toThrow(/io\.hookshim\.devices: the host policy does not allow/);
    const permitted = policy({ requests: { allowed: true, permitted: [{ allow: true, type: "c", major: 10, minor: 229, access: "rw" }] } });
    expect(() => containerRuleSets(config, permitted)).toThrow(/entry "c 10:229 rwm": not permitted/);
    expect(containerRuleSets({ annotations: { "io.hookshim.devices": "c 10:229 r" } }, permitted).container).toHaveLength(RUNTIME + 1);
    expect(() => containerRuleSets({ annotations: { "io.hookshim.devices": "c 10:229 r, c 10:* r" } }, permitted)).toThrow(/entry "c 10:\* r"/);
  });

  test("annotation syntax: commas, spaces, default rwm; malformed entries are named", () => {
    expect(parseDeviceRequests(" c 10:229 ,b 8:* r,, ").map(formatRule)).toEqual(["c 10:229 rwm", "b 8:* r"]);
    expect(() => parseDeviceRequests("c 10:229 rwm, c 10 r")).toThrow(/entry "c 10 r"/);
    expect(() => parseDeviceRequests("a")).toThrow(/entry "a"/);
  });

  test("fixture configs: their rules, their nodes and the runtime's defaults with an empty policy", () => {
    const podman = fixture("podman-4.3.json");
    const sets = containerRuleSets(podman);
    expect(sets.host).toEqual([]);
    expect(sets.container.length).toBeGreaterThanOrEqual(podman.linux.resources.devices.length + RUNTIME);
    expect(new Emulator().applyAll(sets.container).allows("c", 10, 229, R)).toBe(true);
  });

  test("the policy schema is strict: type, access and numbers spelt out (issue 15 #5)", () => {
    const parse = (rules: unknown[], permitted: unknown[] = []) =>
      DevicePolicySchema.safeParse({ rules, requests: { allowed: true, permitted } });
    const paths = (r: ReturnType<typeof parse>) => (r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`));
    expect(parse([{ allow: true, type: "q", major: 1, minor: 1, access: "r" }]).success).toBe(false);
    expect(paths(parse([{ allow: true, major: 1, minor: 3, access: "rw" }]))[0]).toStartWith("rules.0.type");
    expect(paths(parse([{ allow: false, type: "c", major: 1, minor: 3 }]))[0]).toStartWith("rules.0.access");
    expect(paths(parse([{ allow: false, type: "c", major: 1, access: "rw" }]))[0]).toStartWith("rules.0.minor: required");
    expect(paths(parse([{ allow: false, type: "c", major: 1, minor: 3, acess: "rw" }])).join()).toContain("acess");
    expect(paths(parse([], [{ allow: true, major: 10, minor: null, access: "rw" }]))[0]).toStartWith("requests.permitted.0.type");
    expect(paths(parse([], [{ allow: false, type: "c", major: 10, minor: null, access: "rw" }]))[0]).toStartWith("requests.permitted.0.allow");
    expect(paths(parse([{ allow: false, type: "a", access: "r" }]))[0]).toStartWith("rules.0.access");
    // an allow a host deny covers would do nothing: refused
    expect(paths(parse([{ allow: false, type: "c", major: 10, minor: null, access: "rwm" }, { allow: true, type: "c", major: 10, minor: 200, access: "rw" }]))[0])
      .toMatch(/^rules\.1: allow c 10:200 rw has no effect: rules\[0\]/);
    const p: DevicePolicy = DevicePolicySchema.parse(JSON.parse(JSON.stringify(policy({ rules: [{ allow: false, type: "b", major: 8, minor: null, access: "w" }] }))));
    expect(p.rules).toHaveLength(1);
  });
});
