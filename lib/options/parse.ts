// Command lines against their declarations (spec.ts), on node's util.parseArgs: it splits the line
// into tokens (long and short options, clustered shorts, inline `=` values, `--`), and this module
// walks the command tree, checks every option against the command it was given to, converts values
// to their kinds and reports the first problem as one UsageError line. Global options are accepted
// at every level, before or after the command.
//
// node:util costs a process about a millisecond to load, a seventh of a Bun hook's floor. The lines
// a runtime runs on every container start (`hookshim [--config F] [--store S] hook prestart`) hold
// only bare words and exact `--name value` pairs; plainTokens splits those itself, giving the tokens
// util.parseArgs would (test/unit/cli.test.ts checks that), and anything else goes to util.
import { UsageError } from "../errors.ts";
import { subcommandsOf, type CommandSpec, type OptionSpec } from "./spec.ts";
import { convertValue, OptionValues, type OptionValue } from "./values.ts";

export const HELP_OPTION: OptionSpec = { name: "help", short: "h", kind: "bool", description: "show this help" };

export interface ParsedCommand {
  /** the command's spec */
  spec: CommandSpec;
  /** spec names from the root: ["hookshim", "devices", "compile"] */
  path: string[];
  values: OptionValues;
  positionals: string[];
  /** pass-through commands: the arguments after the command, untouched */
  rest: string[];
}

/** `--help` (or `-h`) on a command line: print `spec`'s help, exit 0. Not a failure. */
export class HelpRequest extends Error {
  readonly exitCode = 0;
  constructor(readonly spec: CommandSpec, readonly path: string[]) {
    super(`help for ${path.join(" ")}`);
    this.name = "HelpRequest";
  }
}

export type Token =
  | { kind: "option"; name: string; rawName: string; index: number; value?: string; inlineValue?: boolean }
  | { kind: "positional"; index: number; value: string }
  | { kind: "option-terminator"; index: number };

/** The tokens of a line of bare words and exact `--name [value]` options; undefined for anything else. */
export function plainTokens(args: string[], options: OptionSpec[]): Token[] | undefined {
  const tokens: Token[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith("-")) {
      tokens.push({ kind: "positional", index: i, value: a });
      continue;
    }
    const o = a.startsWith("--") && !a.includes("=") ? options.find((x) => `--${x.name}` === a) : undefined;
    if (!o) return undefined;
    if (o.kind === "bool") tokens.push({ kind: "option", name: o.name, rawName: a, index: i });
    else {
      const v = args[i + 1];
      if (v === undefined || v.startsWith("-")) return undefined; // missing or dash-led values: util decides
      tokens.push({ kind: "option", name: o.name, rawName: a, index: i, value: v, inlineValue: false });
      i++;
    }
  }
  return tokens;
}

export async function tokenize(args: string[], options: OptionSpec[]): Promise<Token[]> {
  const plain = plainTokens(args, options);
  if (plain) return plain;
  const { parseArgs } = await import("node:util");
  const config: Record<string, { type: "string" | "boolean"; short?: string }> = {};
  for (const o of options) config[o.name] = { type: o.kind === "bool" ? "boolean" : "string", ...(o.short ? { short: o.short } : {}) };
  // strict: false keeps unknown options and missing values as tokens, so the messages are ours
  return parseArgs({ args, options: config, strict: false, allowPositionals: true, tokens: true }).tokens as Token[];
}

function optionNamed(options: OptionSpec[], token: Extract<Token, { kind: "option" }>): OptionSpec | undefined {
  return options.find((o) => o.name === token.name && (token.rawName.startsWith("--") || o.short !== undefined));
}

class Collector {
  private readonly values = new Map<string, OptionValue>();
  constructor(private readonly command: string) {}

  add(spec: OptionSpec, token: Extract<Token, { kind: "option" }>): void {
    const raw = token.rawName;
    if (spec.kind === "bool") {
      if (token.value !== undefined) throw new UsageError(`${this.command}: option ${raw} takes no value`);
      this.values.set(spec.name, true);
      return;
    }
    if (token.value === undefined) throw new UsageError(`${this.command}: option ${raw} needs a value`);
    const v = convertValue(this.command, spec, token.value);
    if (spec.kind === "list") this.values.set(spec.name, [...((this.values.get(spec.name) as string[] | undefined) ?? []), ...(v as string[])]);
    else if (spec.repeat) this.values.set(spec.name, [...((this.values.get(spec.name) as string[] | undefined) ?? []), v as string]);
    else this.values.set(spec.name, v);
  }

  finish(specs: OptionSpec[]): OptionValues {
    for (const s of specs)
      if (!this.values.has(s.name) && s.default !== undefined && s.kind !== "bool") this.values.set(s.name, convertValue(this.command, s, s.default));
    return new OptionValues(this.values);
  }
}

export interface ParseResult extends ParsedCommand {
  /** the global options given anywhere on the line */
  globals: OptionValues;
}

/**
 * Finds the command `args` names below `root` and parses its options and positionals. `globals` are
 * accepted at every level. Throws HelpRequest for --help, UsageError for anything wrong.
 */
export async function parseCommandLine(root: CommandSpec, args: string[], globals: OptionSpec[]): Promise<ParseResult> {
  const globalValues = new Collector(root.name);
  let spec = root;
  const path = [root.name];
  let rest = args;
  for (;;) {
    const name = path.join(" ");
    if (spec.passThrough) return { spec, path, values: new OptionValues(new Map()), positionals: [], rest, globals: globalValues.finish(globals) };
    const subs = await subcommandsOf(spec);
    const own = spec.options ?? [];
    const known = [...own, ...globals, HELP_OPTION];
    const tokens = await tokenize(rest, known);
    const values = new Collector(name);
    const positionals: string[] = [];
    let descended = false;
    for (const t of tokens) {
      if (t.kind === "option-terminator") {
        positionals.push(...rest.slice(t.index + 1));
        break;
      }
      if (t.kind === "positional") {
        if (subs.length) {
          const sub = subs.find((s) => s.name === t.value);
          if (!sub) throw new UsageError(`${name}: unknown command "${t.value}" (see ${name} --help)`);
          spec = sub;
          path.push(sub.name);
          rest = rest.slice(t.index + 1);
          descended = true;
          break;
        }
        positionals.push(t.value);
        continue;
      }
      const o = optionNamed(known, t);
      if (!o) throw new UsageError(`${name}: unknown option ${t.rawName}`);
      if (o === HELP_OPTION) throw new HelpRequest(spec, path);
      if (own.includes(o)) values.add(o, t);
      else globalValues.add(o, t);
    }
    if (descended) continue;
    if (subs.length) throw new UsageError(`${name}: a command is required (${subs.filter((s) => !s.hidden).map((s) => s.name).join(", ")}; see ${name} --help)`);
    const p = spec.positionals;
    if (!p && positionals.length) throw new UsageError(`${name}: unexpected argument "${positionals[0]}"`);
    if (p && positionals.length < p.min) throw new UsageError(`${name}: ${p.synopsis} is required`);
    if (p && p.max !== undefined && positionals.length > p.max) throw new UsageError(`${name}: unexpected argument "${positionals[p.max]}"`);
    return { spec, path, values: values.finish(own), positionals, rest: [], globals: globalValues.finish(globals) };
  }
}

// Accessors in the shape command modules read best: str(p, "config"), flag(p, "json").
export const str = (p: ParsedCommand, name: string): string | undefined => p.values.str(name);
export const flag = (p: ParsedCommand, name: string): boolean => p.values.bool(name);
export const list = (p: ParsedCommand, name: string): string[] => p.values.list(name);

/** A string option the command cannot do without: its value, or a UsageError naming it. */
export function requireStr(p: ParsedCommand, name: string): string {
  const v = p.values.str(name);
  if (v === undefined) throw new UsageError(`${p.path.join(" ")}: --${name} is required`);
  return v;
}
