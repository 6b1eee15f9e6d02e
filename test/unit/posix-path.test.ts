// lib/posix-path.ts against node:path's posix functions, which it stands in for on the hook path.
import { describe, expect, test } from "bun:test";
import { posix } from "node:path";
import { basename, dirname, join, normalize, resolve } from "../../lib/posix-path.ts";

const CASES = ["", "/", "//", "a", "a/", "/a", "/a/", "a//b", "/a/./b/../c", "../a", "./", ".", "..", "../", "/..", "/../a", "a/..",
  "a/../..", "/a/b/c/", "//a//b//", "a/b/../../..", "x.scope", "/sys/fs/cgroup/a.slice/b", ".hidden/./x/", "/sys/fs/cgroup/../../etc"];

describe("posix-path is node:path's posix", () => {
  for (const [name, ours, node] of [["normalize", normalize, posix.normalize], ["basename", basename, posix.basename], ["dirname", dirname, posix.dirname]] as const)
    test(name, () => {
      for (const c of CASES) expect({ c, r: ours(c) }).toEqual({ c, r: node(c) });
    });
  test("join", () => {
    for (const a of CASES) for (const b of CASES) expect({ a, b, r: join(a, b) }).toEqual({ a, b, r: posix.join(a, b) });
    expect(join()).toBe(posix.join());
    expect(join("/a", "b", "../c")).toBe(posix.join("/a", "b", "../c"));
  });
  test("resolve", () => {
    for (const a of CASES) for (const b of CASES) expect({ a, b, r: resolve(a, b) }).toEqual({ a, b, r: posix.resolve(a, b) });
    expect(resolve()).toBe(posix.resolve());
    expect(resolve("/a", "b", "../c")).toBe(posix.resolve("/a", "b", "../c"));
  });
});
