// What an OCI runtime or conmon was asked to do, read from its argv. The shim rewrites these
// argvs and the notifier reads them from processes it did not start, so parsing follows the real
// option parsers: runc's urfave/cli v1 over Go's flag package (`-x`, `--x`, `-x=v`, `--x v`,
// single-dash long names, flags after positionals except where a command turns that off), crun's
// GNU argp (clustered short options, `-bVALUE`, unique prefixes of long names) and conmon's
// GOption (no attached short values, options anywhere, `--` ends them). Unknown flags never throw:
// they are recorded, because a watcher must survive a runtime newer than itself.
// Longer than most files (about 400 lines) on purpose: the three parsers share the flag tables and
// the Go/argp lookup rules, and the tables are runc's and crun's command surface, kept side by side.
import { resolve } from "../posix-path.ts";

export type FlagValue = string | boolean | string[];

interface FlagSpec {
  /** canonical (first long) name, the key in `flags` */
  key: string;
  long: string[];
  short: string[];
  takesValue: boolean;
  /** repeatable (Go StringSlice, GOption STRING_ARRAY): values collect into a list */
  repeated: boolean;
}

interface FlagTable {
  byName: Map<string, FlagSpec>;
  longNames: string[];
}

// "bundle,b=" is --bundle/-b taking a value; a trailing "*" makes it repeatable; no "=" is boolean.
function flagTable(...defs: string[]): FlagTable {
  const byName = new Map<string, FlagSpec>();
  const longNames: string[] = [];
  for (const def of defs) {
    const repeated = def.endsWith("*");
    const body = repeated ? def.slice(0, -1) : def;
    const takesValue = body.endsWith("=");
    const names = (takesValue ? body.slice(0, -1) : body).split(",");
    const spec: FlagSpec = {
      key: names[0]!,
      long: names.filter((n) => n.length > 1),
      short: names.filter((n) => n.length === 1),
      takesValue,
      repeated,
    };
    for (const n of names) byName.set(n, spec);
    longNames.push(...spec.long);
  }
  return { byName, longNames };
}

// runc 1.1 and crun 1.x global options together; the two never disagree on a name. Built on first
// use: main.ts loads this module with the shim for every command, and only the shim parses.
let runtimeGlobals: FlagTable | undefined;
const globalsTable = () => (runtimeGlobals ??= flagTable(
  "debug", "log=", "log-format=", "log-level=", "root=", "criu=", "systemd-cgroup", "rootless=",
  "cgroup-manager=", "help,h,?", "version,v,V", "usage",
));

const CREATE = ["bundle,b=", "console-socket=", "pid-file=", "no-pivot", "no-new-keyring", "preserve-fds=", "config,f="];
const RUN = [...CREATE, "detach,d", "keep", "no-subreaper"];
const CRIU_COMMON = [
  "image-path=", "work-path=", "tcp-established", "ext-unix-sk", "shell-job", "file-locks", "manage-cgroups-mode=",
  "empty-ns=", "auto-dedup", "lazy-pages", "tcp-close", "link-remap", "lsm-profile=", "lsm-mount-context=",
];

// Per subcommand, runc's and crun's flags. Only the value-taking ones matter for finding
// positionals, but booleans are listed so they are not reported as unknown.
const RUNTIME_COMMAND_FLAGS: Record<string, string[]> = {
  create: CREATE,
  run: RUN,
  start: [],
  delete: ["force,f", "regex,r="],
  kill: ["all,a", "regex,r="],
  exec: [
    "console-socket=", "cwd=", "env,e=*", "tty,t", "user,u=", "additional-gids,g=*", "process,p=", "detach,d",
    "pid-file=", "process-label=", "apparmor=", "no-new-privs", "cap,c=*", "preserve-fds=", "cgroup=*",
    "ignore-paused", "no-subreaper",
  ],
  state: [],
  ps: ["format,f="],
  list: ["format,f=", "quiet,q"],
  pause: [],
  resume: [],
  update: [
    "resources,r=", "blkio-weight=", "cpu-period=", "cpu-quota=", "cpu-share=", "cpu-rt-period=", "cpu-rt-runtime=",
    "cpuset-cpus=", "cpuset-mems=", "memory=", "memory-reservation=", "memory-swap=", "pids-limit=",
    "l3-cache-schema=", "mem-bw-schema=", "kernel-memory=", "kernel-memory-tcp=",
  ],
  events: ["interval=", "stats"],
  features: [],
  spec: ["bundle,b=", "rootless"],
  checkpoint: [...CRIU_COMMON, "parent-path=", "leave-running", "status-fd=", "page-server=", "pre-dump"],
  restore: [...CRIU_COMMON, "console-socket=", "bundle,b=", "detach,d", "pid-file=", "no-subreaper", "no-pivot"],
  help: [],
};
RUNTIME_COMMAND_FLAGS.h = RUNTIME_COMMAND_FLAGS.help!;

// Built on first use, per command: the shim's pass-through commands parse one small table, not all.
const commandTables = new Map<string, FlagTable>();
function commandTable(command: string): FlagTable {
  let t = commandTables.get(command);
  if (!t) commandTables.set(command, (t = flagTable(...(Object.hasOwn(RUNTIME_COMMAND_FLAGS, command) ? RUNTIME_COMMAND_FLAGS[command]! : []))));
  return t;
}

// Commands whose first positional is not a container id.
const NO_ID = new Set(["list", "features", "spec", "help", "h"]);
// urfave/cli SkipArgReorder (runc) and ARGP_IN_ORDER (crun): the first positional ends the flags,
// because what follows is the command to run in the container.
const IN_ORDER = new Set(["exec", "ps"]);
// Commands that create a container from a bundle (and so default it to the cwd).
const USES_BUNDLE = new Set(["create", "run", "restore"]);

export interface RuntimeGlobals {
  root?: string;
  log?: string;
  logFormat?: string;
  logLevel?: string;
  criu?: string;
  systemdCgroup?: boolean;
  debug?: boolean;
  /** runc: "true" | "false" | "auto"; crun: the same words */
  rootless?: string;
  cgroupManager?: string;
  help?: boolean;
  version?: boolean;
}

export interface RuncInvocation {
  globals: RuntimeGlobals;
  command?: string;
  /** the container id (first positional of commands that take one) */
  id?: string;
  /**
   * For create/run/restore/spec: --bundle, resolved against `cwd` when one is given (create/run/
   * restore default to `cwd` itself, as runc does). Without `cwd` it is as written, or undefined.
   */
  bundle?: string;
  /** --pid-file, resolved against `cwd` when given (runc makes it absolute before entering the bundle) */
  pidFile?: string;
  /** --console-socket: runc dials it after chdir to the bundle, so a relative one resolves there */
  consoleSocket?: string;
  /** the subcommand's flags by canonical long name, unknown ones by the name written */
  flags: Record<string, FlagValue>;
  /** positionals after the id (kill's signal, exec's command, ...); all of them for id-less commands */
  args: string[];
  /** flags neither runc nor crun defines, as written (global and command) */
  unknownFlags: string[];
}

interface ParsedFlags {
  flags: Record<string, FlagValue>;
  positionals: string[];
  unknown: string[];
}

// Go's strconv.ParseBool, which Go's flag package applies to `-flag=value` of a bool flag.
function goBool(v: string): boolean | undefined {
  if (["1", "t", "T", "true", "TRUE", "True"].includes(v)) return true;
  if (["0", "f", "F", "false", "FALSE", "False"].includes(v)) return false;
  return undefined;
}

function setFlag(out: Record<string, FlagValue>, spec: FlagSpec, value: string | boolean): void {
  if (spec.repeated && typeof value === "string") {
    const prev = out[spec.key];
    out[spec.key] = Array.isArray(prev) ? [...prev, value] : [value];
  } else out[spec.key] = value;
}

/** argp accepts any unambiguous prefix of a long option; Go's flag package does not, but runc fails on
 * an unknown flag anyway, so accepting prefixes never misreads an argv runc would have run. */
function lookupLong(table: FlagTable, name: string): FlagSpec | undefined {
  const exact = table.byName.get(name);
  if (exact) return exact;
  if (name.length < 2) return undefined;
  const candidates = new Set(table.longNames.filter((n) => n.startsWith(name)).map((n) => table.byName.get(n)!));
  return candidates.size === 1 ? [...candidates][0] : undefined;
}

/**
 * Flags of one parser level, and the positionals. `stopAtPositional`: Go's flag package without
 * reordering (the global level, and commands that skip urfave/cli's reordering) — the first
 * positional and everything after it are positionals; otherwise flags may come anywhere before `--`.
 */
function parseFlags(argv: string[], table: FlagTable, stopAtPositional: boolean): ParsedFlags {
  // argv is untrusted: a flag named "__proto__" must land as data
  const out: ParsedFlags = { flags: Object.create(null), positionals: [], unknown: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      // Go's flag package consumes "--" only before the first positional; urfave/cli's reordering
      // leaves a later one among the positionals.
      out.positionals.push(...argv.slice(out.positionals.length ? i : i + 1));
      return out;
    }
    if (arg.length < 2 || !arg.startsWith("-")) {
      if (stopAtPositional) {
        out.positionals.push(...argv.slice(i));
        return out;
      }
      out.positionals.push(arg);
      continue;
    }
    const doubleDash = arg.startsWith("--");
    const body = arg.slice(doubleDash ? 2 : 1);
    const eq = body.indexOf("=");
    const name = eq < 0 ? body : body.slice(0, eq);
    const inline = eq < 0 ? undefined : body.slice(eq + 1);
    const spec = doubleDash ? lookupLong(table, name) : table.byName.get(name);
    if (spec) {
      if (!spec.takesValue) {
        const v = inline === undefined ? true : goBool(inline);
        if (v === undefined) out.unknown.push(arg);
        else setFlag(out.flags, spec, v);
      } else if (inline !== undefined) setFlag(out.flags, spec, inline);
      else if (i + 1 < argv.length) setFlag(out.flags, spec, argv[++i]!);
      else {
        // a value flag at the very end: runc refuses to run; keep the fact that it was there
        setFlag(out.flags, spec, "");
        out.unknown.push(arg);
      }
      continue;
    }
    if (!doubleDash && !body.startsWith("-")) {
      const consumed = parseShortCluster(argv, i, body, table, out.flags);
      if (consumed >= 0) {
        i += consumed;
        continue;
      }
    }
    out.unknown.push(arg);
    out.flags[name.replace(/^-+/, "")] = inline ?? true;
  }
  return out;
}

/** argp-style `-dq`, `-bDIR`, `-db DIR`. Returns how many extra argv entries were used, or -1 when
 * some letter is not an option (then the whole argument is recorded as unknown). */
function parseShortCluster(argv: string[], i: number, body: string, table: FlagTable, flags: Record<string, FlagValue>): number {
  const pending: [FlagSpec, string | boolean][] = [];
  let extra = 0;
  for (let j = 0; j < body.length; j++) {
    const spec = table.byName.get(body[j]!);
    if (!spec || !spec.short.includes(body[j]!)) return -1;
    if (!spec.takesValue) {
      pending.push([spec, true]);
      continue;
    }
    if (j + 1 < body.length) pending.push([spec, body.slice(j + 1)]);
    else if (i + 1 < argv.length) {
      pending.push([spec, argv[i + 1]!]);
      extra = 1;
    } else return -1;
    break;
  }
  for (const [spec, v] of pending) setFlag(flags, spec, v);
  return extra;
}

function globalsFrom(flags: Record<string, FlagValue>): RuntimeGlobals {
  const str = (k: string) => (typeof flags[k] === "string" ? (flags[k] as string) : undefined);
  const bool = (k: string) => (typeof flags[k] === "boolean" ? (flags[k] as boolean) : undefined);
  const g: RuntimeGlobals = {
    root: str("root"), log: str("log"), logFormat: str("log-format"), logLevel: str("log-level"), criu: str("criu"),
    systemdCgroup: bool("systemd-cgroup"), debug: bool("debug"), rootless: str("rootless"),
    cgroupManager: str("cgroup-manager"), help: bool("help"), version: bool("version"),
  };
  for (const k of Object.keys(g) as (keyof RuntimeGlobals)[]) if (g[k] === undefined) delete g[k];
  return g;
}

/**
 * Parse a runc or crun argv WITHOUT argv[0]. `cwd` is the runtime process's working directory;
 * given it, path flags come back absolute the way the runtime resolves them.
 */
export function parseRuncArgv(argv: string[], cwd?: string): RuncInvocation {
  const global = parseFlags(argv, globalsTable(), true);
  const globals = globalsFrom(global.flags);
  if (cwd !== undefined) {
    if (globals.root !== undefined) globals.root = resolve(cwd, globals.root);
    if (globals.log !== undefined) globals.log = resolve(cwd, globals.log);
  }
  const unknownFlags = [...global.unknown];
  const [command, ...commandArgv] = global.positionals;
  if (command === undefined) return { globals, flags: {}, args: [], unknownFlags };

  const table = commandTable(command);
  const sub = parseFlags(commandArgv, table, IN_ORDER.has(command));
  unknownFlags.push(...sub.unknown);
  const { flags, positionals } = sub;
  const inv: RuncInvocation = { globals, command, flags, args: positionals, unknownFlags };
  if (!NO_ID.has(command) && positionals.length) {
    inv.id = positionals[0];
    inv.args = positionals.slice(1);
  }
  const at = (base: string | undefined, p: string | undefined) => (p === undefined || base === undefined ? p : resolve(base, p));
  const bundleFlag = typeof flags.bundle === "string" ? flags.bundle : undefined;
  if (USES_BUNDLE.has(command) || command === "spec") {
    inv.bundle = bundleFlag !== undefined ? at(cwd, bundleFlag) : USES_BUNDLE.has(command) ? cwd : undefined;
  }
  if (typeof flags["pid-file"] === "string") inv.pidFile = at(cwd, flags["pid-file"]);
  if (typeof flags["console-socket"] === "string") {
    inv.consoleSocket = at(command === "exec" ? cwd : (inv.bundle ?? cwd), flags["console-socket"]);
  }
  return inv;
}

// Built on first use: the shim parses runc's argv on every call and never conmon's.
let conmonOptions: FlagTable | undefined;
const conmonTable = () => (conmonOptions ??= flagTable(
  "api-version", "bundle,b=", "cid,c=", "conmon-pidfile,P=", "container-pidfile,p=", "cuuid,u=", "exec,e",
  "exec-attach", "exec-process-spec=", "exit-command=", "exit-command-arg=*", "exit-delay=", "exit-dir=",
  "leave-stdin-open", "log-level=", "log-path,l=*", "log-size-max=", "log-global-size-max=", "log-tag=", "name,n=",
  "no-new-keyring", "no-pivot", "no-sync-log", "persist-dir,0=", "pidfile=", "replace-listen-pid", "restore=",
  "restore-arg=*", "runtime,r=", "runtime-arg=*", "runtime-opt=*", "sdnotify-socket=", "socket-dir-path=",
  "stdin,i", "sync", "syslog", "systemd-cgroup,s", "terminal,t", "timeout,T=", "version", "full-attach",
  "seccomp-notify-socket=", "seccomp-notify-plugins=", "help,h,?",
));

export interface ConmonInvocation {
  cid?: string;
  cuuid?: string;
  name?: string;
  bundle?: string;
  /** -p/--container-pidfile (or the deprecated --pidfile): where the runtime writes the container pid */
  containerPidfile?: string;
  conmonPidfile?: string;
  /** -r/--runtime: the OCI runtime binary */
  runtime?: string;
  /** --runtime-arg values in order: global flags conmon passes to the runtime */
  runtimeArgs: string[];
  exitDir?: string;
  exitCommand?: string;
  exitCommandArgs: string[];
  logPaths: string[];
  logLevel?: string;
  terminal: boolean;
  stdin: boolean;
  systemdCgroup: boolean;
  exec: boolean;
  /** conmon declares --api-version without an argument: the "1" podman passes stays a positional */
  apiVersion: boolean;
  flags: Record<string, FlagValue>;
  /** leftover positionals (conmon ignores them) */
  args: string[];
  unknownFlags: string[];
}

/**
 * Parse conmon's argv as GOption does. Pass it without argv[0]; a leading program path is harmless
 * (it lands in `args`, as conmon would leave it).
 */
export function parseConmonArgv(argv: string[]): ConmonInvocation {
  const table = conmonTable();
  // argv is untrusted: a flag named "__proto__" must land as data
  const out: ParsedFlags = { flags: Object.create(null), positionals: [], unknown: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      out.positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg.length < 2 || !arg.startsWith("-")) {
      out.positionals.push(arg);
      continue;
    }
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const name = arg.slice(2, eq < 0 ? undefined : eq);
      const spec = table.byName.get(name);
      if (!spec || spec.short.includes(name)) {
        out.unknown.push(arg);
        out.flags[name] = eq < 0 ? true : arg.slice(eq + 1);
      } else if (!spec.takesValue) setFlag(out.flags, spec, true); // GOption ignores "=x" on a NONE option
      else if (eq >= 0) setFlag(out.flags, spec, arg.slice(eq + 1));
      else if (i + 1 < argv.length) setFlag(out.flags, spec, argv[++i]!);
      else out.unknown.push(arg);
      continue;
    }
    // Short options: GOption groups them (`-ti`) and gives a value-taking one the NEXT argument;
    // `-cVALUE` is an error to conmon ("Unknown option"), so it is unknown here too.
    const letters = arg.slice(1);
    const specs = [...letters].map((l) => table.byName.get(l));
    const valued = specs.filter((s) => s?.takesValue).length;
    if (specs.some((s, j) => !s || !s.short.includes(letters[j]!)) || valued > 1 || (valued === 1 && i + 1 >= argv.length)) {
      out.unknown.push(arg);
      out.flags[letters] = true;
      continue;
    }
    for (const spec of specs) setFlag(out.flags, spec!, spec!.takesValue ? argv[++i]! : true);
  }
  const f = out.flags;
  const str = (k: string) => (typeof f[k] === "string" ? (f[k] as string) : undefined);
  const list = (k: string) => (Array.isArray(f[k]) ? (f[k] as string[]) : []);
  const inv: ConmonInvocation = {
    cid: str("cid"), cuuid: str("cuuid"), name: str("name"), bundle: str("bundle"),
    containerPidfile: str("container-pidfile") ?? str("pidfile"), conmonPidfile: str("conmon-pidfile"),
    runtime: str("runtime"), runtimeArgs: list("runtime-arg"), exitDir: str("exit-dir"),
    exitCommand: str("exit-command"), exitCommandArgs: list("exit-command-arg"), logPaths: list("log-path"),
    logLevel: str("log-level"), terminal: f.terminal === true, stdin: f.stdin === true,
    systemdCgroup: f["systemd-cgroup"] === true, exec: f.exec === true, apiVersion: f["api-version"] === true,
    flags: f, args: out.positionals, unknownFlags: out.unknown,
  };
  for (const k of Object.keys(inv) as (keyof ConmonInvocation)[]) if (inv[k] === undefined) delete inv[k];
  return inv;
}
