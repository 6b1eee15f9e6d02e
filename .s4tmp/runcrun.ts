import { mkdtempSync, writeFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { busyboxRootfs, runcBundle, writeTestConfig } from "../test/e2e/hooks-harness.ts";
import { RUNC } from "../test/support/bundle.ts";
const tmp = mkdtempSync(join(tmpdir(), `s4-runc-`));
const parent = `/hookshim-s4-runc`;
const store = `s4runc`;
const rootfs = busyboxRootfs(tmp);
const config = writeTestConfig(join(tmp, "config.json"), { store, cgroupParent: parent });
const bundle = runcBundle(tmp, "s4r", rootfs, ["true"], `${parent}/s4r`);
const file = join(bundle, "config.json");
const cfg = JSON.parse(readFileSync(file, "utf8"));
const h = (stage: string) => [{ path: "/bin/sh", args: ["sh", "-c", `HOOKSHIM_TRACE_TIMING=1 exec /work/main/dist/hookshim --config ${config} hook ${stage} 2>>/tmp/s4/runc-timing.log`] }];
cfg.hooks = { prestart: h("prestart"), poststop: h("poststop") };
writeFileSync(file, JSON.stringify(cfg));
for (let i = 0; i < 8; i++) {
  const p = Bun.spawnSync([RUNC, "--root", join(tmp, "root"), "run", "--bundle", bundle, `s4r${i}`], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  if (p.exitCode) console.log(p.exitCode, p.stderr.toString());
}
Bun.spawnSync(["/work/main/dist/hookshim", "--config", config, "store", "reset", "--yes"]);
