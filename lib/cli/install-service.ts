// hookshim install --notifier-service [--unit-dir DIR] [--binary PATH]: config/container-notifier.service
// as a systemd unit that runs this hookshim (or --binary) as the notifier. The unit is written
// atomically; systemd is then told to reload when it is PID 1. Starting it is the operator's call.
import { existsSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import unitTemplate from "../../config/container-notifier.service" with { type: "text" };
import { writeFileAtomic } from "../oci/bundle.ts";
import { InputError } from "../errors.ts";

export const NOTIFIER_UNIT = "container-notifier.service";
export const SYSTEM_UNIT_DIR = "/etc/systemd/system";
const TEMPLATE_BINARY = "/usr/local/bin/hookshim";

/** The unit text with ExecStart running `binary`. */
export function notifierUnit(binary: string): string {
  if (/\s|[%$\\"']/.test(binary)) throw new InputError(`${binary}: a binary path for a unit's ExecStart must not hold spaces, quotes, '%', '$' or '\\'`);
  const lines = unitTemplate.split("\n");
  const i = lines.findIndex((l) => l.startsWith(`ExecStart=${TEMPLATE_BINARY} `));
  if (i < 0) throw new Error(`config/container-notifier.service has no ExecStart=${TEMPLATE_BINARY} line`);
  lines[i] = lines[i]!.replace(`ExecStart=${TEMPLATE_BINARY} `, `ExecStart=${binary} `);
  return lines.join("\n");
}

/** Writes the unit into `unitDir`; returns the exit code. */
export function installNotifierService(o: { binary: string; unitDir?: string; uninstall?: boolean }): number {
  const file = join(o.unitDir ?? SYSTEM_UNIT_DIR, NOTIFIER_UNIT);
  if (o.uninstall) {
    if (!existsSync(file)) {
      console.log(`no ${file}`);
      return 0;
    }
    unlinkSync(file);
    console.log(`removed ${file} (stop it first: systemctl disable --now container-notifier)`);
    return 0;
  }
  writeFileAtomic(file, notifierUnit(o.binary), { mode: 0o644 });
  console.log(`wrote ${file}`);
  // sd_booted(3): systemd is PID 1
  if (existsSync("/run/systemd/system") && (o.unitDir ?? SYSTEM_UNIT_DIR) === SYSTEM_UNIT_DIR) {
    const r = Bun.spawnSync(["systemctl", "daemon-reload"], { stderr: "pipe" });
    if (r.exitCode !== 0) console.error(`hookshim: systemctl daemon-reload: ${r.stderr.toString().trim()}`);
  }
  console.log("start it with: systemctl enable --now container-notifier");
  return 0;
}
