// hookshim devices compile|apply|check|show|add|remove: the device filter from the command line.
import { disassemble, type Instruction } from "../bpf/asm/index.ts";
import {
  Access, DeviceRuleError, Emulator, attachDeviceFilter, changeDeviceRule, compileDeviceFilter, containerDeviceRules,
  formatAccess, formatRule, normalizeRules, parseAccess, parseDeviceSpec, readDeviceFilters, ruleFromSpec,
  type AttachedFilter, type NormalRule, type ReducedRules,
} from "../devices/index.ts";
import { loadConfig } from "../config/index.ts";
import { CONFIG_SIZE_LIMIT, readConfig } from "../oci/bundle.ts";
import { readJsonFile } from "../oci/json.ts";
import type { GlobalOptions } from "./context.ts";
import { flag, requireStr, str, type ParsedCommand } from "../options/index.ts";
import { InputError, UsageError } from "../errors.ts";

/** Turn a rule error into bad input naming the file. */
function asInput<T>(file: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof DeviceRuleError) throw new InputError(`${file}: ${e.message}`);
    throw e;
  }
}

/**
 * The ordered rules from --rules (a LinuxDeviceCgroup array) or --config (an OCI config.json: its
 * linux.resources.devices, then hookshim's host policy, then the io.hookshim.devices annotation).
 */
function ruleSource(p: ParsedCommand, g: GlobalOptions, cmd: string): { file: string; rules: NormalRule[] } {
  const config = str(p, "config");
  const rules = str(p, "rules");
  if ((config === undefined) === (rules === undefined)) throw new UsageError(`${cmd}: give one of --config F or --rules F`);
  if (rules !== undefined) return { file: rules, rules: asInput(rules, () => normalizeRules(readJsonFile(rules, CONFIG_SIZE_LIMIT))) };
  const { file, raw } = readConfig(config!);
  const policy = loadConfig(g.configPath).devices;
  return { file, rules: asInput(file, () => containerDeviceRules(raw, policy)) };
}

function emulate(file: string, rules: NormalRule[]): Emulator {
  return asInput(file, () => new Emulator().applyAll(rules));
}

function instructionJson(i: Instruction): Record<string, unknown> {
  const o: Record<string, unknown> = { opcode: i.opcode, dst: i.dst, src: i.src, offset: i.offset, constant: Number(i.constant) };
  if (i.symbol) o.symbol = i.symbol;
  if (i.reference) o.reference = i.reference;
  return o;
}

function reducedLines(r: ReducedRules): string[] {
  return [
    `${r.defaultAllow ? "allow" : "deny"} a *:* rwm`,
    ...r.exceptions.map((e) => `${r.defaultAllow ? "deny" : "allow"} ${formatRule(e)}`),
  ];
}

function filterLines(dir: string, f: AttachedFilter): string[] {
  const head = `${dir}: program ${f.id} ${f.name || "(unnamed)"}${f.hookshim ? " (hookshim)" : ""} tag ${f.tag}`;
  if (!f.filter) return [head, `  cannot read rules: ${f.error}`];
  const lines = [head, `  ${f.filter.defaultAllow ? "allow" : "deny"} a *:* rwm`];
  for (const b of f.filter.blocks) {
    let line = `  ${b.allow ? "allow" : "deny"} ${formatRule(b)}`;
    if (!b.v1)
      line += b.allow
        ? `  # differs from v1: allows any request sharing a bit with ${formatAccess(b.access)}`
        : `  # differs from v1: denies only requests within ${formatAccess(b.access)}`;
    lines.push(line);
  }
  return lines;
}

export async function main(p: ParsedCommand, g: GlobalOptions): Promise<number> {
  const sub = p.path[2];
  const cmd = `devices ${sub}`;
  switch (sub) {
    case "compile": {
      const { file, rules } = ruleSource(p, g, cmd);
      const compiled = compileDeviceFilter(emulate(file, rules));
      // --format is an enum (lib/cli/commands.ts): asm or json, checked when parsed
      if (str(p, "format") === "json") console.log(JSON.stringify(compiled.instructions.map(instructionJson), null, 1));
      else process.stdout.write(disassemble(compiled.instructions).replace(/\n?$/, "\n"));
      return 0;
    }
    case "apply": {
      const dir = requireStr(p, "cgroup");
      const { file, rules } = ruleSource(p, g, cmd);
      const compiled = compileDeviceFilter(emulate(file, rules));
      const r = attachDeviceFilter(dir, compiled);
      const how = r.replaced.length === 0 ? "attached" : r.atomic ? `replaced ${r.replaced[0]}` : `replaced ${r.replaced.join(", ")} (attach, then detach)`;
      console.log(`${dir}: program ${r.progId} ${how}, ${compiled.instructions.length} instructions`);
      return 0;
    }
    case "check": {
      const { file, rules } = ruleSource(p, g, cmd);
      const device = requireStr(p, "device");
      const accessText = requireStr(p, "access");
      let spec;
      let access: number;
      try {
        spec = parseDeviceSpec(device);
        access = parseAccess(accessText);
      } catch (e) {
        throw new UsageError(`${cmd}: ${(e as Error).message}`);
      }
      if (spec.type === "a" || spec.major < 0 || spec.minor < 0 || spec.access !== undefined)
        throw new UsageError(`${cmd}: --device names one device: TYPE MAJOR:MINOR with b or c and numbers ("c 1:3")`);
      if (access === 0 || (access & ~Access.ALL) !== 0) throw new UsageError(`${cmd}: --access needs at least one of r, w, m`);
      console.log(emulate(file, rules).allows(spec.type, spec.major, spec.minor, access) ? "allow" : "deny");
      return 0;
    }
    case "show": {
      const dir = requireStr(p, "cgroup");
      const filters = readDeviceFilters(dir);
      if (flag(p, "json")) {
        console.log(JSON.stringify(filters.map((f) => ({
          id: f.id, name: f.name, tag: f.tag, hookshim: f.hookshim, error: f.error,
          defaultAllow: f.filter?.defaultAllow,
          rules: f.filter?.blocks.map((b) => ({ allow: b.allow, type: b.type, major: b.major < 0 ? null : b.major, minor: b.minor < 0 ? null : b.minor, access: formatAccess(b.access), test: b.test, v1: b.v1 })),
        }))));
      } else if (filters.length === 0) {
        console.log(`${dir}: no device program attached (every device allowed unless a parent cgroup restricts it)`);
      } else {
        for (const f of filters) console.log(filterLines(dir, f).join("\n"));
      }
      return 0;
    }
    case "add":
    case "remove": {
      const dir = requireStr(p, "cgroup");
      const text = p.positionals[0]!;
      let rule: NormalRule;
      try {
        rule = ruleFromSpec(text, sub === "add");
      } catch (e) {
        throw new UsageError(`${cmd}: ${(e as Error).message}`);
      }
      const r = asInput(`${cmd} "${text}"`, () => changeDeviceRule(dir, rule));
      console.log(reducedLines(r.after).join("\n"));
      return 0;
    }
    default:
      throw new UsageError(`devices: unknown subcommand "${sub}"`);
  }
}
