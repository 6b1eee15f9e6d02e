// Container ids before they become cgroup paths and map keys (issue 15 #11).
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CONTAINER_ID_MAX_BYTES, checkContainerId, containerIdProblem } from "../../lib/oci/id.ts";
import { hookshimGroupPath } from "../../lib/lifecycle/cgroup.ts";
import { parseHookState } from "../../lib/lifecycle/state.ts";
import { InputError } from "../../lib/errors.ts";

const FIXTURES = join(import.meta.dir, "../../../shared/fixtures");
const BAD: [string, string][] = [
  ["..", "names a directory"],
  [".", "names a directory"],
  ["", "must not be empty"],
  ["a/b", "must not contain /"],
  ["../../escape", "must not contain /"],
  ["x\x1b[31mred", "control characters"],
  ["x\u009b31m", "control characters"],
  ["nl\n", "control characters"],
  ["x".repeat(CONTAINER_ID_MAX_BYTES + 1), `more than ${CONTAINER_ID_MAX_BYTES}`],
];

describe("container id validation (issue 15 #11)", () => {
  test("real ids pass: podman's 64 hex, containerd's names, runc's", () => {
    for (const id of ["4e5c6ac0aee2a3f3c9b8a5a6e3f1d7c2b0a9e8d7c6b5a4f3e2d1c0b9a8f7e6d5", "hs-ctr-demo", "my_container.1+x", "x".repeat(CONTAINER_ID_MAX_BYTES)])
      expect(containerIdProblem(id)).toBeUndefined();
  });

  test("ids that would escape or garble a path, a key or a terminal are refused", () => {
    for (const [id, why] of BAD) {
      expect(containerIdProblem(id)).toContain(why);
      expect(() => checkContainerId(id)).toThrow(InputError);
    }
  });

  test("hookshim's group path refuses the id before joining it: .. is not the parent's parent", () => {
    expect(hookshimGroupPath("/hookshim", "abc")).toBe("/hookshim/abc");
    for (const [id] of BAD) expect(() => hookshimGroupPath("/hookshim", id)).toThrow(/^container id: /);
  });

  test("a hook state with such an id is bad input naming the field", () => {
    const base = JSON.parse(readFileSync(join(FIXTURES, "states/podman-4.3-prestart.json"), "utf8"));
    for (const [id, why] of BAD) expect(() => parseHookState(JSON.stringify({ ...base, id }), "prestart")).toThrow(new RegExp(`^stdin: id: .*${why.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}`));
  });
});
