// --help and `hookshim help COMMAND`, written from the declarations: a usage line, the summary, the
// command's own options, the global ones, and the subcommands.
import { HELP_OPTION } from "./parse.ts";
import type { CommandSpec, OptionSpec } from "./spec.ts";

function optionLabel(o: OptionSpec): string {
  const value = o.kind === "bool" ? "" : ` ${o.kind === "enum" ? o.values!.join("|") : (o.placeholder ?? o.kind.toUpperCase())}`;
  return `${o.short ? `-${o.short}, ` : "    "}--${o.name}${value}`;
}

/** Aligned "  label  description" rows. */
function table(rows: [string, string][]): string[] {
  const width = Math.max(...rows.map(([l]) => l.length));
  return rows.map(([l, d]) => `  ${l.padEnd(width)}  ${d}`.trimEnd());
}

export function optionsHelp(options: OptionSpec[]): string[] {
  return table(
    options.map((o) => {
      const dflt = o.default !== undefined && o.default !== "" ? ` (default ${o.default})` : "";
      return [optionLabel(o), o.description + dflt + (o.repeat ? " (repeatable)" : "")];
    }),
  );
}

export function usageLine(spec: CommandSpec, path: string[], subs: CommandSpec[]): string {
  const parts = [...path];
  if (subs.length) parts.push("COMMAND");
  if (spec.options?.length) parts.push("[OPTIONS]");
  if (spec.passThrough) parts.push("ARGS...");
  if (spec.positionals) parts.push(spec.positionals.synopsis);
  return `usage: ${parts.join(" ")}`;
}

export function helpText(spec: CommandSpec, path: string[], subs: CommandSpec[], globals: OptionSpec[]): string {
  const out = [usageLine(spec, path, subs), spec.summary];
  if (spec.details) out.push("", spec.details);
  if (spec.options?.length) out.push("", "options:", ...optionsHelp(spec.options));
  const shown = subs.filter((s) => !s.hidden);
  if (shown.length) out.push("", "commands:", ...table(shown.map((s) => [s.name, s.summary])), "", `${path.join(" ")} COMMAND --help: the options of one`);
  if (!spec.passThrough) out.push("", "global options (anywhere on the line):", ...optionsHelp([...globals, HELP_OPTION]));
  return out.join("\n");
}
