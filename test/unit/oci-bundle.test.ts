import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { chmodSync, closeSync, copyFileSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, ftruncateSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CONFIG_SIZE_LIMIT, injectHooks, readConfig, writeConfigAtomic, FileInputError } from "../../lib/oci/index.ts";
import { InputError } from "../../lib/errors.ts";
import { readHookConfig } from "../../lib/oci/hook-config.ts";

const FIXTURES = join(import.meta.dir, "../../../shared/fixtures");

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "hookshim-bundle-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function bundleWith(fixture: string): string {
  copyFileSync(join(FIXTURES, "bundles", fixture), join(dir, "config.json"));
  return join(dir, "config.json");
}

describe("readConfig", () => {
  test("from a bundle directory or the file itself", () => {
    const file = bundleWith("podman-4.3.json");
    const a = readConfig(dir);
    expect(a.file).toBe(file);
    expect(a.spec.process?.args).toEqual(["sleep", "5"]);
    expect(a.spec).toBe(a.raw as never);
    expect(readConfig(file).spec.linux?.cgroupsPath).toStartWith("/libpod_parent/");
  });

  test("errors are InputErrors naming the file", () => {
    expect(() => readConfig(join(dir, "nope.json"))).toThrow(`${join(dir, "nope.json")}: cannot open: ENOENT`);
    writeFileSync(join(dir, "config.json"), '{"ociVersion": ');
    expect(() => readConfig(dir)).toThrow(new RegExp(`^${join(dir, "config.json")}: not valid JSON`));
    writeFileSync(join(dir, "config.json"), "[]");
    expect(() => readConfig(dir)).toThrow("a config must be a JSON object");
    const s = JSON.parse(readFileSync(join(FIXTURES, "bundles/runc-1.1-spec.json"), "utf8"));
    s.process.cwd = "relative";
    s.linux.resources.devices[0].access = "rwz";
    writeFileSync(join(dir, "config.json"), JSON.stringify(s));
    let err: unknown;
    try {
      readConfig(dir);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toBe(
      `${join(dir, "config.json")}: process.cwd: "relative" is not an absolute path; linux.resources.devices[0].access: "z" is not one of r, w, m`,
    );
  });

  test("a 100 MB file is refused before it is read", () => {
    const big = join(dir, "config.json");
    // sparse: the size is what matters, the blocks need not exist
    const fd = openSync(big, "w");
    ftruncateSync(fd, 100 * 1024 * 1024);
    closeSync(fd);
    let err: unknown;
    try {
      readConfig(dir);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FileInputError);
    expect((err as Error).message).toBe(`${big}: too large (104857600 bytes, the limit is ${CONFIG_SIZE_LIMIT})`);
  });
});

describe("a bundle's config.json is user-controlled", () => {
  test("a FIFO is refused without blocking, a symlink is not followed, a hook's read refuses them too", () => {
    const file = join(dir, "config.json");
    rmSync(file, { force: true });
    expect(Bun.spawnSync(["mkfifo", file]).exitCode).toBe(0);
    expect(() => readConfig(dir)).toThrow(`${file}: is not a regular file`);
    expect(() => readHookConfig(dir)).toThrow(`${file}: is not a regular file`);
    rmSync(file);
    writeFileSync(join(dir, "real.json"), readFileSync(join(FIXTURES, "bundles/runc-1.1-spec.json")));
    symlinkSync(join(dir, "real.json"), file);
    expect(() => readConfig(dir)).toThrow(`${file}: is a symbolic link: not followed`);
    expect(() => readHookConfig(dir)).toThrow(`${file}: is a symbolic link: not followed`);
    rmSync(file);
  });
});

describe("writeConfigAtomic", () => {
  test("round trip keeps key order, unknown fields and big integers", () => {
    const original = readFileSync(join(FIXTURES, "bundles/containerd-1.6.json"), "utf8");
    const s = JSON.parse(original);
    s.process.rlimits.push({ type: "RLIMIT_CORE", hard: 0, soft: 0 });
    s["io.example.extension"] = { keep: [1, 2, 3] };
    const text = JSON.stringify(s).replace('"hard":0,"soft":0', '"hard":18446744073709551615,"soft":18446744073709551615');
    const file = join(dir, "config.json");
    writeFileSync(file, text);
    const { raw } = readConfig(file);
    writeConfigAtomic(file, raw);
    expect(readFileSync(file, "utf8")).toBe(text);
  });

  test("injected hooks are written, the rest byte for byte the same", () => {
    const file = bundleWith("podman-4.3.json");
    const before = readFileSync(file, "utf8");
    const { spec, raw } = readConfig(file);
    injectHooks(spec, { createRuntime: [{ path: "/usr/local/bin/hookshim", args: ["hookshim", "hook", "createRuntime"] }] });
    writeConfigAtomic(file, raw);
    const after = readFileSync(file, "utf8");
    const hooksJson = ',"hooks":{"createRuntime":[{"path":"/usr/local/bin/hookshim","args":["hookshim","hook","createRuntime"]}]}';
    expect(after).toBe(before.slice(0, -1) + hooksJson + "}");
  });

  test("keeps the original's mode and leaves no temporary file", () => {
    const file = bundleWith("runc-1.1-spec.json");
    chmodSync(file, 0o640);
    const { raw } = readConfig(file);
    writeConfigAtomic(file, raw, { indent: "\t" });
    expect(statSync(file).mode & 0o7777).toBe(0o640);
    expect(readdirSync(dir)).toEqual(["config.json"]);
    expect(readFileSync(file, "utf8")).toBe(readFileSync(join(FIXTURES, "bundles/runc-1.1-spec.json"), "utf8"));
  });

  test("a new file gets the mode asked for; the inode is replaced, not rewritten", () => {
    const file = join(dir, "new.json");
    writeConfigAtomic(file, { a: 1 }, { mode: 0o600 });
    expect(statSync(file).mode & 0o7777).toBe(0o600);
    const ino = statSync(file).ino;
    writeConfigAtomic(file, { a: 2 });
    expect(statSync(file).ino).not.toBe(ino);
    expect(statSync(file).mode & 0o7777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, "utf8"))).toEqual({ a: 2 });
  });

  test("a failed write leaves the original and no temporary file", () => {
    const file = bundleWith("podman-4.3.json");
    const before = readFileSync(file, "utf8");
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => writeConfigAtomic(file, cyclic)).toThrow();
    expect(readFileSync(file, "utf8")).toBe(before);
    expect(readdirSync(dir)).toEqual(["config.json"]);
    expect(() => writeConfigAtomic(join(dir, "missing-dir", "config.json"), {})).toThrow(/missing-dir\/config.json: cannot write: ENOENT/);
  });
});
