// The VM test lane: runs a command (by default `bun test ARGS`) inside a qemu guest booted from one of
// Debian's LTS kernels with a pure cgroup v2 hierarchy, the host's root shared read-only over 9p
// and a tmpfs overlay on top, so the guest sees this checkout, its node_modules and the installed
// runtimes without copying anything. KVM cannot run guests on the build machines, so qemu runs under
// TCG; timeouts inside the guest are scaled by HOOKSHIM_TEST_TIME_SCALE.
//
//   npm run test:vm -- --kernel 6.1|6.12 [--init plain|systemd] [--exec 'shell command'] [bun test args]
//
// Exit status: the guest command's, 124 when the guest timed out, 125 when it could not boot.
import { mkdtempSync, readFileSync, writeFileSync, rmSync, existsSync, createWriteStream } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { KERNELS, type KernelName, ensureKernel } from "./kernels";
import { buildInitramfs } from "./initramfs";
import { systemdUnitScript } from "./systemd";

const REPO = join(import.meta.dir, "../..");
/** TCG runs the guest several times slower than the host; the in-guest tests stretch their waits by this. */
const TIME_SCALE = 6;
/** Variables passed from the host into the guest command. */
const PASSED_ENV = ["CI", "HOOKSHIM_TRACE_TIMING", "BUN_DEBUG_QUIET_LOGS", "NO_COLOR", "FORCE_COLOR"];

function usage(msg?: string): never {
  if (msg) console.error(`test:vm: ${msg}`);
  console.error("usage: npm run test:vm -- --kernel 6.1|6.12 [--init plain|systemd] [--minutes N] [--exec CMD] [bun test args]");
  process.exit(2);
}

/** The harness's own options; every other argument goes to `bun test`. */
const OPTIONS = { kernel: "", init: "plain", minutes: "40", exec: "", memory: "6144", log: "" };
type Option = keyof typeof OPTIONS;
const values = { ...OPTIONS };
const bunArgs: string[] = [];
{
  const args = Bun.argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const m = /^--([a-z]+)(?:=(.*))?$/.exec(a);
    if (m && m[1]! in OPTIONS) {
      const v = m[2] ?? args[++i];
      if (v === undefined) usage(`--${m[1]} needs a value`);
      values[m[1] as Option] = v;
    } else if (a !== "--") bunArgs.push(a);
  }
}

const kernel = values.kernel;
if (!(kernel in KERNELS)) usage(`--kernel must be one of ${Object.keys(KERNELS).join(", ")}`);
const init = values.init;
if (init !== "plain" && init !== "systemd") usage("--init must be plain or systemd");
const minutes = Number(values.minutes);
if (!(minutes > 0)) usage("--minutes must be a positive number");

const spec = KERNELS[kernel as KernelName];
const k = await ensureKernel(kernel as KernelName);
const out = mkdtempSync(join(tmpdir(), `hookshim-vm-${kernel}-`));
const initrd = join(out, "initrd.gz");
await buildInitramfs(k, join(import.meta.dir, "init.sh"), initrd);

const shq = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
const command = values.exec || [join(REPO, "node_modules/.bin/bun"), "test", "--timeout", String(120_000 * TIME_SCALE), ...bunArgs].map(shq).join(" ");
const env = PASSED_ENV.filter((n) => process.env[n] !== undefined).map((n) => `export ${n}=${shq(process.env[n]!)}`);
writeFileSync(
  join(out, "cmd.sh"),
  [
    "# Written by test/vm/run.ts: the guest command. It records its own exit status in /vmout/rc.",
    "export PATH=" + shq(`${join(REPO, "node_modules/.bin")}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`),
    "export HOME=/root LANG=C.UTF-8 TERM=dumb NO_COLOR=1",
    `export HOOKSHIM_VM=${shq(kernel!)} HOOKSHIM_VM_INIT=${shq(init)} HOOKSHIM_TEST_TIME_SCALE=${TIME_SCALE}`,
    ...env,
    // What .ci/run prepares on the host, prepared here the same way.
    "mkdir -p /etc/containers /run/containerd /var/tmp",
    "mountpoint -q /sys/fs/bpf || mount -t bpf -o mode=0700 bpf /sys/fs/bpf",
    "mountpoint -q /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing",
    `echo "vm: kernel $(uname -r), init ${init}, cgroup $(stat -fc %T /sys/fs/cgroup), controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"`,
    `cd ${shq(REPO)}`,
    `( ${command} )`,
    "rc=$?",
    "echo $rc > /vmout/rc",
    "sync",
    "exit $rc",
    "",
  ].join("\n"),
);
if (init === "systemd") writeFileSync(join(out, "systemd-unit.sh"), systemdUnitScript());

const append = [
  "console=ttyS0",
  "quiet",
  "loglevel=1",
  "panic=-1",
  // Pure cgroup v2, as on the hosts users run: no v1 controller (devices included) is available.
  "cgroup_no_v1=all",
  "systemd.unified_cgroup_hierarchy=1",
  ...(init === "systemd" ? ["hookshim.init=systemd", "systemd.show_status=false"] : []),
].join(" ");
const argv = [
  "qemu-system-x86_64",
  "-accel", spec.accel,
  "-cpu", "max",
  "-smp", "2",
  "-m", String(values.memory),
  "-display", "none",
  "-serial", "stdio",
  "-monitor", "none",
  "-no-reboot",
  "-nic", "none",
  "-kernel", k.vmlinuz,
  "-initrd", initrd,
  "-append", append,
  "-virtfs", "local,path=/,mount_tag=hostroot,security_model=passthrough,readonly=on,multidevs=remap",
  "-virtfs", `local,path=${out},mount_tag=vmout,security_model=passthrough,multidevs=remap`,
];

const started = performance.now();
console.log(`test:vm: kernel ${k.release} (${k.pkg}), init ${init}, ${spec.accel}`);
const logFile = values.log ? createWriteStream(values.log) : undefined;
const proc = Bun.spawn(argv, { stdin: "ignore", stdout: "pipe", stderr: "inherit" });
let timedOut = false;
const timer = setTimeout(() => {
  timedOut = true;
  console.error(`test:vm: the guest ran past ${minutes} minutes; stopping it`);
  proc.kill("SIGKILL");
}, minutes * 60_000);
const decoder = new TextDecoder();
for await (const chunk of proc.stdout) {
  const text = decoder.decode(chunk, { stream: true }).replaceAll("\r\n", "\n");
  process.stdout.write(text);
  logFile?.write(text);
}
await proc.exited;
clearTimeout(timer);
logFile?.end();
const seconds = ((performance.now() - started) / 1000).toFixed(0);
let rc: number;
if (timedOut) rc = 124;
else if (existsSync(join(out, "rc"))) rc = Number(readFileSync(join(out, "rc"), "utf8").trim());
else {
  console.error("test:vm: the guest stopped without an exit status (it did not boot, or it crashed)");
  rc = 125;
}
console.log(`test:vm: kernel ${kernel} (${init}) finished in ${seconds} s with exit status ${rc}`);
rmSync(out, { recursive: true, force: true });
process.exit(rc);

