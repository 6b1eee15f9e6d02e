// What a hook reads of config.json (lib/oci/hook-config.ts): its sections, validated with the same
// schemas and the same field-naming errors as the full read; the rest of the file is not its business.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readHookConfig } from "../../lib/oci/hook-config.ts";
import { readConfig } from "../../lib/oci/bundle.ts";
import { InputError } from "../../lib/errors.ts";
import { expectPlainCheckWithinSchema } from "../support/plain-check.ts";

const tmp = mkdtempSync(join(tmpdir(), "hookshim-hook-config-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function bundle(name: string, config: unknown): string {
  const dir = join(tmp, name);
  mkdirSync(dir);
  writeFileSync(join(dir, "config.json"), JSON.stringify(config));
  return dir;
}

const base = {
  ociVersion: "1.0.2",
  root: { path: "rootfs" },
  annotations: { "io.kubernetes.cri.container-name": "web" },
  linux: {
    resources: { memory: { limit: 1048576 }, devices: [{ allow: false, access: "rwm" }, { allow: true, type: "c", major: 1, minor: 3, access: "rw" }] },
    devices: [{ type: "c", path: "/dev/fuse", major: 10, minor: 229 }],
    cgroupsPath: "/x/y",
  },
};

describe("readHookConfig", () => {
  test("the sections a hook reads, as parsed", () => {
    const c = readHookConfig(bundle("ok", base));
    expect(c.spec.linux?.resources?.memory?.limit).toBe(1048576);
    expect(c.spec.annotations).toEqual(base.annotations);
    expect(c.raw).toEqual(base);
  });

  test("a bad value in a section it reads names the field, as the full read does", () => {
    const dir = bundle("bad-resources", { ...base, linux: { ...base.linux, resources: { memory: { limit: "1G" } } } });
    let hook: unknown, full: unknown;
    try {
      readHookConfig(dir);
    } catch (e) {
      hook = e;
    }
    try {
      readConfig(dir);
    } catch (e) {
      full = e;
    }
    expect(hook).toBeInstanceOf(InputError);
    expect((hook as Error).message).toContain("linux.resources.memory.limit");
    expect((hook as Error).message).toBe((full as Error).message);
    expect(() => readHookConfig(bundle("bad-device", { ...base, linux: { devices: [{ type: "c", path: "/dev/x" }] } }))).toThrow("linux.devices[0].major");
    expect(() => readHookConfig(bundle("not-object", [1]))).toThrow("a config must be a JSON object");
    expect(() => readHookConfig(bundle("no-version", { linux: {} }))).toThrow("ociVersion: required");
  });

  test("sections it does not read are left to validate and the rewriters", () => {
    const dir = bundle("bad-mount", { ...base, mounts: [{ destination: 7 }] });
    expect(readHookConfig(dir).spec.linux?.cgroupsPath).toBe("/x/y");
    expect(() => readConfig(dir)).toThrow("mounts[0].destination");
  });
});

describe("one name per container", () => {
  test("the hooks, the notifier and the registry read the name annotations in the same order", async () => {
    const { containerName } = await import("../../lib/lifecycle/prestart.ts");
    const { nameFromBundle } = await import("../../lib/notifier/container-info.ts");
    const { metadataFromAnnotations } = await import("../../lib/containers/bundle.ts");
    for (const [annotations, want] of [
      [{ "io.kubernetes.cri.container-name": "cri", "io.kubernetes.container.name": "kube", "nerdctl/name": "n" }, "kube"],
      [{ "nerdctl/name": "n", "io.kubernetes.cri.container-name": "cri" }, "cri"],
      [{ "org.opencontainers.container.name": "oci", "io.podman.annotations.name": "pod" }, "pod"],
    ] as [Record<string, string>, string][]) {
      const dir = bundle(`names-${want}`, { ...base, annotations });
      expect([containerName(annotations), nameFromBundle(dir), metadataFromAnnotations(annotations).name]).toEqual([want, want, want]);
    }
  });
});

describe("linux.devices, a privileged container's whole /dev", () => {
  test("the plain device check accepts only what LinuxDeviceSchema accepts, and a bad device keeps its message", async () => {
    const { readdirSync, statSync } = await import("node:fs");
    const { LinuxDeviceSchema, LinuxDeviceListSchema, isPlainLinuxDevice } = await import("../../lib/oci/resources.ts");
    // what podman --privileged writes: every character and block device of the host
    const host = readdirSync("/dev").flatMap((name) => {
      const st = statSync(join("/dev", name), { throwIfNoEntry: false });
      if (!st || !(st.isCharacterDevice() || st.isBlockDevice())) return [];
      return [{ path: join("/dev", name), type: st.isCharacterDevice() ? "c" : "b", major: Math.floor(st.rdev / 256) & 0xfff, minor: st.rdev & 0xff, fileMode: st.mode & 0o7777, uid: st.uid, gid: st.gid }];
    });
    expect(host.length).toBeGreaterThan(5);
    const edge: unknown[] = [
      null, [], "/dev/null", {}, { type: "c", path: "/dev/x" }, { type: "c", path: "/dev/x", major: 1 }, { type: "p", path: "/dev/fifo" },
      { type: "p", path: "/dev/fifo", major: 1.5 }, { type: "u", path: "/dev/u", major: 1, minor: 2 }, { type: "x", path: "/dev/x", major: 1, minor: 1 },
      { type: "c", path: "dev/rel", major: 1, minor: 3 }, { type: "c", path: "/dev/x", major: 1, minor: 3, fileMode: -1 },
      { type: "c", path: "/dev/x", major: 1, minor: 3, uid: 2 ** 32 }, { type: "c", path: "/dev/x", major: 2n ** 60n, minor: 3 },
      { type: "b", path: "/dev/x", major: 8, minor: 0, gid: 6, extra: true }, { type: "c", path: "/dev/x", major: 1, minor: null },
    ];
    expectPlainCheckWithinSchema([...host, ...edge], isPlainLinuxDevice, (d) => LinuxDeviceSchema.safeParse(d).success, host.length);
    const r = LinuxDeviceListSchema.safeParse([...host, { type: "c", path: "/dev/x", major: 1 }]);
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.path).toEqual([host.length, "minor"]);
  });
});
