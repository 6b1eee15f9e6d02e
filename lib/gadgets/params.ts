// Typed gadget parameters (Inspektor Gadget's params.ParamDesc): each declares its kind, default and
// limits; the values on a command line are checked against them before a gadget runs, and a bad one
// is one line naming the command, the parameter and the problem.
import { parseArgs, type OptionSpec, type Parsed } from "../options/args.ts";
import { UsageError } from "../errors.ts";

export type ParamKind = "duration" | "int" | "string" | "bool" | "enum" | "list";

export interface ParamSpec {
  /** long option name without dashes */
  name: string;
  short?: string;
  kind: ParamKind;
  description: string;
  /** as it would be typed; bools default to false, lists to empty */
  default?: string;
  /** int and duration (milliseconds): the smallest value accepted */
  min?: number;
  /** enum: the values accepted */
  values?: readonly string[];
}

export type ParamValue = number | string | boolean | string[];

const UNITS_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/;

/**
 * Go's time.ParseDuration subset: one or more number+unit pairs ("1s", "500ms", "1m30s"), in
 * milliseconds. Undefined for anything else; a bare number has no unit and is not a duration.
 */
export function parseDuration(text: string): number | undefined {
  let rest = text.trim();
  if (!rest) return undefined;
  let ms = 0;
  while (rest) {
    const m = DURATION.exec(rest);
    if (!m) return undefined;
    ms += Number(m[1]) * UNITS_MS[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  return ms;
}

/** "1.5s", "500ms", "2m": the shortest way to write a duration back. */
export function formatDuration(ms: number): string {
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms >= 1000) return `${ms / 1000}s`;
  return `${ms}ms`;
}

function parseValue(cmd: string, spec: ParamSpec, raw: string): ParamValue {
  const bad = (problem: string) => new UsageError(`${cmd}: --${spec.name}: ${JSON.stringify(raw)} ${problem}`);
  switch (spec.kind) {
    case "duration": {
      const ms = parseDuration(raw);
      if (ms === undefined) throw bad("is not a duration (e.g. 1s, 500ms)");
      if (spec.min !== undefined && ms < spec.min) throw bad(`is too short (at least ${formatDuration(spec.min)})`);
      return ms;
    }
    case "int": {
      if (!/^-?\d+$/.test(raw.trim())) throw bad("is not an integer");
      const n = Number(raw);
      if (!Number.isSafeInteger(n)) throw bad("is out of range");
      if (spec.min !== undefined && n < spec.min) throw bad(`is too small (at least ${spec.min})`);
      return n;
    }
    case "enum":
      if (!spec.values!.includes(raw)) throw bad(`is not one of ${spec.values!.join(", ")}`);
      return raw;
    case "list":
      return raw.split(",").map((s) => s.trim()).filter(Boolean);
    case "bool":
      return true;
    case "string":
      return raw;
  }
}

/** Parameter values by name, each already of its kind. */
export class ParamValues {
  constructor(private readonly values: Map<string, ParamValue>) {}

  private get(name: string, kind: string): ParamValue {
    const v = this.values.get(name);
    if (v === undefined) throw new Error(`gadget parameter ${name} is not declared (wanted ${kind})`);
    return v;
  }

  /** milliseconds */
  duration(name: string): number {
    return this.get(name, "duration") as number;
  }
  int(name: string): number {
    return this.get(name, "int") as number;
  }
  str(name: string): string {
    return this.get(name, "string") as string;
  }
  bool(name: string): boolean {
    return this.get(name, "bool") as boolean;
  }
  list(name: string): string[] {
    return this.get(name, "list") as string[];
  }
  has(name: string): boolean {
    return this.values.has(name);
  }
}

export interface ParsedParams {
  values: ParamValues;
  positionals: string[];
  help: boolean;
}

/** Parse `argv` against `specs` (plus -h/--help); every value is validated, defaults filled in. */
export function parseParams(argv: string[], specs: ParamSpec[], cmd: string): ParsedParams {
  const options: OptionSpec[] = specs.map((s) => ({
    name: s.name,
    short: s.short,
    value: s.kind !== "bool",
    repeat: s.kind === "list",
  }));
  options.push({ name: "help", short: "h" });
  const parsed: Parsed = parseArgs(argv, options, cmd);
  const values = new Map<string, ParamValue>();
  for (const spec of specs) {
    const given = parsed.opts[spec.name];
    if (spec.kind === "bool") values.set(spec.name, given === true);
    else if (spec.kind === "list") {
      const raw = (given as string[] | undefined) ?? (spec.default ? [spec.default] : []);
      values.set(spec.name, raw.flatMap((r) => parseValue(cmd, spec, r) as string[]));
    } else if (typeof given === "string") values.set(spec.name, parseValue(cmd, spec, given));
    else if (spec.default !== undefined) values.set(spec.name, parseValue(cmd, spec, spec.default));
    else if (spec.kind === "string") values.set(spec.name, "");
  }
  return { values: new ParamValues(values), positionals: parsed.positionals, help: parsed.opts.help === true };
}

/** The options block of a --help text. */
export function paramsHelp(specs: ParamSpec[]): string {
  const rows = specs.map((s) => {
    const flag = (s.short ? `-${s.short}, ` : "    ") + `--${s.name}` + (s.kind === "bool" ? "" : ` ${s.kind === "enum" ? s.values!.join("|") : s.kind.toUpperCase()}`);
    const dflt = s.default !== undefined && s.default !== "" ? ` (default ${s.default})` : "";
    return [flag, s.description + dflt] as const;
  });
  const width = Math.max(...rows.map(([f]) => f.length));
  return rows.map(([f, d]) => `  ${f.padEnd(width)}  ${d}`).join("\n");
}
