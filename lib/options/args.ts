// A small getopt for subcommands: `--name value`, `--name=value`, `-n value`, boolean flags,
// repeatable options and positionals; unknown options are usage errors.
import { UsageError } from "../errors.ts";

export interface OptionSpec {
  /** long name without dashes */
  name: string;
  short?: string;
  /** takes a value */
  value?: boolean;
  /** may repeat: collected into an array */
  repeat?: boolean;
}

export interface Parsed {
  opts: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

export function parseArgs(argv: string[], specs: OptionSpec[], command = "hookshim"): Parsed {
  const byLong = new Map(specs.map((s) => [s.name, s]));
  const byShort = new Map(specs.filter((s) => s.short).map((s) => [s.short!, s]));
  const opts: Parsed["opts"] = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    let spec: OptionSpec | undefined;
    let inline: string | undefined;
    if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
      inline = eq >= 0 ? a.slice(eq + 1) : undefined;
      spec = byLong.get(name);
      if (!spec) throw new UsageError(`${command}: unknown option --${name}`);
    } else if (a.startsWith("-") && a.length > 1) {
      spec = byShort.get(a.slice(1, 2));
      if (!spec) throw new UsageError(`${command}: unknown option ${a}`);
      if (a.length > 2) inline = a.slice(2);
    } else {
      positionals.push(a);
      continue;
    }
    let v: string | boolean = true;
    if (spec.value) {
      if (inline !== undefined) v = inline;
      else if (i + 1 < argv.length) v = argv[++i]!;
      else throw new UsageError(`${command}: option --${spec.name} needs a value`);
    } else if (inline !== undefined) {
      throw new UsageError(`${command}: option --${spec.name} takes no value`);
    }
    if (spec.repeat) ((opts[spec.name] as string[] | undefined) ?? (opts[spec.name] = [] as string[]) as string[]).push(String(v));
    else opts[spec.name] = v;
  }
  return { opts, positionals };
}

export function str(p: Parsed, name: string): string | undefined {
  const v = p.opts[name];
  return typeof v === "string" ? v : undefined;
}

export function flag(p: Parsed, name: string): boolean {
  return p.opts[name] === true;
}

export function list(p: Parsed, name: string): string[] {
  const v = p.opts[name];
  return Array.isArray(v) ? v : [];
}

export function requireStr(p: Parsed, name: string, command: string): string {
  const v = str(p, name);
  if (v === undefined) throw new UsageError(`${command}: --${name} is required`);
  return v;
}
