// Option values: each declared kind checked and converted once, at parse time, so a bad value is one
// line naming the command, the option and the problem before anything runs.
import { UsageError } from "../errors.ts";
import type { OptionSpec } from "./spec.ts";

export type OptionValue = number | string | boolean | string[];

const UNITS_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d)/;

/**
 * Go's time.ParseDuration subset, plus days: one or more number+unit pairs ("1s", "500ms", "1m30s",
 * "2d"), in milliseconds; "0" alone is zero, as in Go. Undefined for anything else: a bare number
 * has no unit and is not a duration.
 */
export function parseDuration(text: string): number | undefined {
  let rest = text.trim();
  if (rest === "0") return 0;
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

/** One typed value from its text; `command` names the command in the error. */
export function convertValue(command: string, spec: OptionSpec, raw: string): OptionValue {
  const bad = (problem: string) => new UsageError(`${command}: --${spec.name}: ${JSON.stringify(raw)} ${problem}`);
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

/**
 * The value of an option its declaration gives a default, so it is never absent: an absent one is a
 * bug in the declaration, thrown as such.
 */
export function defaulted<T>(value: T | undefined, name: string): T {
  if (value === undefined) throw new Error(`option --${name} has no value: its declaration needs a default`);
  return value;
}

/** Option values by name, each already of its kind; absent options without a default are absent. */
export class OptionValues {
  constructor(private readonly values: Map<string, OptionValue>) {}

  private get(name: string, kind: string): OptionValue | undefined {
    return this.values.get(name) ?? (kind === "bool" ? false : kind === "list" ? [] : undefined);
  }

  has(name: string): boolean {
    return this.values.has(name);
  }
  /** milliseconds */
  duration(name: string): number | undefined {
    return this.get(name, "duration") as number | undefined;
  }
  int(name: string): number | undefined {
    return this.get(name, "int") as number | undefined;
  }
  str(name: string): string | undefined {
    const v = this.get(name, "string");
    return Array.isArray(v) ? v[v.length - 1] : (v as string | undefined);
  }
  bool(name: string): boolean {
    return this.get(name, "bool") === true;
  }
  /** list options, and repeatable string options */
  list(name: string): string[] {
    const v = this.get(name, "list");
    return Array.isArray(v) ? v : typeof v === "string" ? [v] : [];
  }
}
