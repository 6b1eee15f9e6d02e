// Every hookshim command, its options and its subcommands, declared once: main.ts parses command
// lines against these, and --help, `hookshim help COMMAND` and `hookshim completion bash` are written
// from them (lib/options). Data only: loading this table costs a hook nothing it notices; the
// gadgets' declarations come from lib/gadgets, loaded only when a gadget command needs them.
import type { CommandSpec, OptionSpec } from "../options/index.ts";

/** Accepted before or after the command, at any level. */
export const GLOBAL_OPTIONS: OptionSpec[] = [
  { name: "config", kind: "string", placeholder: "FILE", description: "hookshim's configuration (default $HOOKSHIM_CONFIG, else /etc/hookshim/config.json)" },
  { name: "store", kind: "string", placeholder: "NAME", description: "the store under bpffs (default: the configuration's store, hookshim)" },
  { name: "debug", kind: "bool", description: "print stack traces with errors" },
];

const gadgetCategory = (name: "snapshot" | "trace" | "top", summary: string): CommandSpec => ({
  name,
  summary,
  subcommands: async () => (await import("../gadgets/command.ts")).gadgetCommands(name),
});

const RULE_SOURCE: OptionSpec[] = [
  { name: "config", kind: "string", placeholder: "FILE", description: "an OCI config.json: its linux.resources.devices, the host policy and the io.hookshim.devices annotation" },
  { name: "rules", kind: "string", placeholder: "FILE", description: "a JSON array of LinuxDeviceCgroup rules" },
];
const CGROUP: OptionSpec = { name: "cgroup", kind: "string", placeholder: "DIR", description: "the cgroup v2 directory" };

export const HOOKSHIM: CommandSpec = {
  name: "hookshim",
  summary: "OCI runtime hooks, a runtime shim and a container watcher for cgroup v2 and eBPF",
  details: "Also answers as hookshim-runtime and runc (the runtime shim) and container-notifier (the notifier).",
  subcommands: [
    {
      name: "hook",
      summary: "an OCI hook: the container's state JSON on stdin, nothing on stdout",
      subcommands: [
        { name: "prestart", summary: "device filter, cgroup placement, store record, exit tracking" },
        { name: "createRuntime", summary: "prestart's work, at the createRuntime stage" },
        { name: "poststop", summary: "record the exit, remove what prestart created" },
        { name: "auto", summary: "the stage the state's status implies (hooks.d files name one command for all stages)" },
      ],
    },
    {
      name: "runtime",
      summary: "the runtime shim: injects hooks.d hooks on create and run, then execs runc with the argv untouched",
      details: "Every argument goes to runc unchanged (`hookshim runtime --help` is runc's help). Global options go before `runtime`.",
      passThrough: true,
    },
    {
      name: "notifier",
      summary: "container-notifier: report container precreate/add/remove by watching the runtime binaries (fanotify)",
      options: [
        { name: "json", kind: "bool", description: "one JSON object per event (the default when stdout is not a terminal)" },
        { name: "table", kind: "bool", description: "one line per event for people" },
        { name: "runtime-path", kind: "string", repeat: true, placeholder: "PATH", description: "a runtime binary to watch, replacing the default list" },
        { name: "runtime-root", kind: "string", repeat: true, placeholder: "DIR", description: "an OCI runtime state root (runc/crun --root) to scan at start, besides /run/runc, /run/crun, /run/containerd/runc/*" },
        { name: "metrics-addr", kind: "string", placeholder: "HOST:PORT", description: "serve Prometheus metrics on /metrics" },
        { name: "hold-bound-ms", kind: "int", min: 1, placeholder: "N", description: "longest a runtime exec is held before it is let through (default 100)" },
        { name: "pid-wait-ms", kind: "int", min: 1, placeholder: "N", description: "how long a created container may take to write its pid (default 30000)" },
      ],
    },
    {
      name: "validate",
      summary: "check a config.json, a hook state or a hooks.d file: quiet and 0 when valid, one line per problem otherwise",
      options: [{ name: "kind", short: "k", kind: "string", placeholder: "KIND", description: "what the file is (config, state, hooks, ...); default: inferred" }],
      positionals: { synopsis: "FILE", min: 1, max: 1, complete: "file" },
    },
    {
      name: "devices",
      summary: "the device filter from the command line",
      subcommands: [
        {
          name: "compile",
          summary: "print the filter program for a rule set",
          options: [...RULE_SOURCE, { name: "format", kind: "enum", values: ["asm", "json"], default: "asm", description: "disassembly or instruction objects" }],
        },
        { name: "apply", summary: "attach the filter for a rule set to a cgroup", options: [CGROUP, ...RULE_SOURCE] },
        {
          name: "check",
          summary: "allow or deny: what a rule set decides for one device access",
          options: [
            ...RULE_SOURCE,
            { name: "device", kind: "string", placeholder: "'c 1:3'", description: "the device: type major:minor" },
            { name: "access", kind: "string", placeholder: "rwm", description: "the access asked for" },
          ],
        },
        { name: "show", summary: "the rules of the filters attached to a cgroup", options: [CGROUP, { name: "json", kind: "bool", description: "JSON instead of text" }] },
        { name: "add", summary: "allow one more device on a cgroup's filter", options: [CGROUP], positionals: { synopsis: "RULE", min: 1, max: 1 } },
        { name: "remove", summary: "deny a device on a cgroup's filter", options: [CGROUP], positionals: { synopsis: "RULE", min: 1, max: 1 } },
      ],
    },
    {
      name: "ps",
      summary: "containers: running ones, or all the store and the runtimes know with -a",
      options: [
        { name: "all", short: "a", kind: "bool", description: "every container, stopped ones included" },
        { name: "json", kind: "bool", description: "one JSON object per container" },
      ],
    },
    {
      name: "events",
      summary: "the store's event log, one event per line",
      options: [
        { name: "follow", short: "f", kind: "bool", description: "keep printing events as they come" },
        { name: "json", kind: "bool", description: "one JSON object per event" },
      ],
    },
    {
      name: "store",
      summary: "housekeeping of the pinned store",
      subcommands: [
        {
          name: "gc",
          summary: "remove stopped containers, old exit statuses and stale tracing entries",
          options: [{ name: "older-than", kind: "duration", min: 0, default: "0s", placeholder: "DURATION", description: "only what stopped longer ago than this (e.g. 30m, 1h30m, 2d)" }],
        },
        { name: "reset", summary: "unpin the maps and the exit program, remove the store directory" },
      ],
    },
    {
      name: "install",
      summary: "register the hooks with the runtimes on this host",
      details: [
        "install [--hooks-dir DIR] [--binary PATH] [--prefix DIR]   hooks.d file for podman and CRI-O",
        "install --bundle DIR [--binary PATH]                        hooks in one bundle's config.json (runc)",
        "install --containerd-config FILE [--write]                  the runtime shim for containerd",
        "install --docker-config FILE [--write]                      the runtime shim in docker's daemon.json",
        "install --notifier-service [--unit-dir DIR] [--binary PATH]  container-notifier as a systemd service",
        "... --uninstall                                             the reverse of each",
      ].join("\n"),
      options: [
        { name: "hooks-dir", kind: "string", placeholder: "DIR", description: "where to write hookshim.json (default /usr/share/containers/oci/hooks.d)" },
        { name: "binary", kind: "string", placeholder: "PATH", description: "the hookshim the hooks run (default: this one)" },
        { name: "prefix", kind: "string", placeholder: "DIR", description: "copy the binary to DIR/bin/hookshim, with its multi-call names, first" },
        { name: "bundle", kind: "string", placeholder: "DIR", description: "add the hooks to DIR/config.json instead" },
        { name: "uninstall", kind: "bool", description: "remove what install adds" },
        { name: "containerd-config", kind: "string", placeholder: "FILE", description: "register the runtime shim in containerd's config.toml" },
        { name: "docker-config", kind: "string", placeholder: "FILE", description: "register the runtime shim in dockerd's daemon.json" },
        { name: "notifier-service", kind: "bool", description: "install (or with --uninstall remove) container-notifier.service" },
        { name: "unit-dir", kind: "string", placeholder: "DIR", description: "with --notifier-service: where the unit goes (default /etc/systemd/system)" },
        { name: "write", kind: "bool", description: "with --containerd-config or --docker-config: write the file (default: print the change)" },
      ],
    },
    { name: "doctor", summary: "what this host supports", options: [{ name: "json", kind: "bool", description: "one JSON object per check" }] },
    gadgetCategory("snapshot", "gadgets that list what is there now"),
    gadgetCategory("trace", "gadgets that print what happens, as it happens"),
    gadgetCategory("top", "gadgets that refresh a sorted table"),
    {
      name: "help",
      summary: "the help of a command: hookshim help COMMAND [SUBCOMMAND]",
      positionals: { synopsis: "[COMMAND...]", min: 0 },
    },
    {
      name: "completion",
      summary: "print a shell completion script",
      subcommands: [{ name: "bash", summary: "bash: hookshim completion bash > /etc/bash_completion.d/hookshim" }],
    },
    { name: "version", summary: "print hookshim's version" },
  ],
};

export const VERSION = "hookshim 0.1.0";
