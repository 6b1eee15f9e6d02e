// hookshim devices compile|apply|check|show|add|remove: the device filter from the command line.
import { disassemble, type Instruction } from "../bpf/asm/index.ts";
import {
  DevcgAccess, ContainerDevices, DeviceRuleError, attachContainerFilter, changeDeviceRule, compileContainerFilter, formatAccess,
  formatRule, hostDenyBlocks, hostDenyMatches, hostDenyRules, normalizeRules, parseAccess, parseDeviceSpec, readDeviceFilters,
  ruleFromSpec, type AttachedFilter, type ContainerFilter, type DevicePolicy, type NormalRule, type ReducedRules,
} from "../devices/index.ts";
import { loadConfig } from "../config/index.ts";
import { containerDevices } from "../lifecycle/devices.ts";
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
 * The decisions from --rules (a LinuxDeviceCgroup array, taken as it is) or --config (an OCI
 * config.json: exactly what the hook attaches for it, host policy included).
 */
function deviceSource(p: ParsedCommand, g: GlobalOptions, cmd: string): { file: string; fromConfig: boolean; devices: ContainerDevices } {
  const config = str(p, "config");
  const rules = str(p, "rules");
  if ((config === undefined) === (rules === undefined)) throw new UsageError(`${cmd}: give one of --config F or --rules F`);
  if (rules !== undefined) {
    const list = asInput(rules, () => normalizeRules(readJsonFile(rules, CONFIG_SIZE_LIMIT)));
    return { file: rules, fromConfig: false, devices: asInput(rules, () => ContainerDevices.fromRules([], list)) };
  }
  const { file, raw } = readConfig(config!);
  const policy = loadConfig(g.configPath).devices;
  return { file, fromConfig: true, devices: asInput(file, () => containerDevices(raw, policy)) };
}

/** The one program a container gets for these decisions. */
function programOf(devices: ContainerDevices): ContainerFilter {
  return compileContainerFilter(devices)!;
}

/** The active config's host policy, to label a program's host deny blocks; undefined when it cannot be read. */
function activePolicy(g: GlobalOptions): DevicePolicy | undefined {
  try {
    return loadConfig(g.configPath).devices;
  } catch {
    return undefined;
  }
}

/** Where each host deny block came from: the active policy's rule when the blocks are that policy's. */
function hostDenySources(f: AttachedFilter, policy: DevicePolicy | undefined): string[] {
  const denies = f.filter?.hostDenies ?? [];
  let expected: ReturnType<typeof hostDenyBlocks> = [];
  try {
    expected = policy ? hostDenyBlocks(hostDenyRules(policy)) : [];
  } catch {
    expected = [];
  }
  const same = (a: object, b: object) => JSON.stringify(a) === JSON.stringify(b);
  const matches = expected.length === denies.length && denies.every((d, i) => {
    const { type, major, minor, access } = expected[i]!;
    return same(d, { type, major, minor, access });
  });
  return denies.map((_, i) => (matches ? expected[i]!.source ?? "host policy" : "not the active config's host policy"));
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

function filterLines(dir: string, f: AttachedFilter, policy: DevicePolicy | undefined): string[] {
  const role = f.hostPolicy ? " (hookshim host policy alone: its denies hold whatever the other programs allow)" : f.hookshim ? " (hookshim)" : "";
  const head = `${dir}: program ${f.id} ${f.name || "(unnamed)"}${role} tag ${f.tag}`;
  if (!f.filter) return [head, `  cannot read rules: ${f.error}`];
  const sources = hostDenySources(f, policy);
  const lines = [
    head,
    // checked first: no rule below can reach them
    ...f.filter.hostDenies.map((d, i) => `  host deny ${formatRule(d)}  # ${sources[i]}, checked first`),
    `  ${f.filter.defaultAllow ? "allow" : "deny"} a *:* rwm`,
  ];
  for (const b of f.filter.blocks) {
    let line = `  ${b.allow ? "allow" : "deny"} ${formatRule(b)}`;
    if (!b.v1)
      line += b.allow
        ? `  # differs from v1: allows any request sharing a bit with ${formatAccess(b.access)}`
        : b.test === "none"
          ? "  # differs from v1: also denies requests with no access bits (access(2) with F_OK)"
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
      const { devices } = deviceSource(p, g, cmd);
      const { compiled } = programOf(devices);
      // --format is an enum (lib/cli/commands.ts): asm or json, checked when parsed
      if (str(p, "format") !== "json") {
        compiled.hostDenies.forEach((d, i) => console.log(`; host-${i}: deny ${formatRule(d)} (${d.source ?? "host policy"})`));
        process.stdout.write(disassemble(compiled.instructions).replace(/\n?$/, "\n"));
      } else {
        console.log(JSON.stringify(compiled.instructions.map(instructionJson), null, 1));
      }
      return 0;
    }
    case "apply": {
      const dir = requireStr(p, "cgroup");
      const { devices } = deviceSource(p, g, cmd);
      const filter = programOf(devices);
      const r = attachContainerFilter(dir, filter);
      const how = r.replaced.length === 0 ? "attached" : r.atomic ? `replaced ${r.replaced[0]}` : `replaced ${r.replaced.join(", ")} (attach, then detach)`;
      const n = filter.compiled.hostDenies.length;
      const host = n ? `, ${n} host deny block${n === 1 ? "" : "s"} first` : "";
      console.log(`${dir}: program ${r.progId} (${filter.compiled.instructions.length} instructions${host}) ${how}`);
      return 0;
    }
    case "check": {
      const { devices } = deviceSource(p, g, cmd);
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
      if (access === 0 || (access & ~DevcgAccess.ALL) !== 0) throw new UsageError(`${cmd}: --access needs at least one of r, w, m`);
      console.log(devices.allows(spec.type, spec.major, spec.minor, access) ? "allow" : "deny");
      return 0;
    }
    case "show": {
      const dir = requireStr(p, "cgroup");
      const filters = readDeviceFilters(dir);
      const policy = activePolicy(g);
      const numbers = (b: { major: number; minor: number }) => ({ major: b.major < 0 ? null : b.major, minor: b.minor < 0 ? null : b.minor });
      if (flag(p, "json")) {
        const json = filters.map((f) => {
          const sources = hostDenySources(f, policy);
          return {
            id: f.id, name: f.name, tag: f.tag, hookshim: f.hookshim, hostPolicy: f.hostPolicy, error: f.error,
            hostDenies: f.filter?.hostDenies.map((d, i) => ({ type: d.type, ...numbers(d), access: formatAccess(d.access), source: sources[i] })),
            defaultAllow: f.filter?.defaultAllow,
            rules: f.filter?.blocks.map((b) => ({ allow: b.allow, type: b.type, ...numbers(b), access: formatAccess(b.access), test: b.test, v1: b.v1 })),
          };
        });
        console.log(JSON.stringify(json));
      } else if (filters.length === 0) {
        console.log(`${dir}: no device program attached (every device allowed unless a parent cgroup restricts it)`);
      } else {
        for (const f of filters) console.log(filterLines(dir, f, policy).join("\n"));
        if (filters.length > 1) console.log(`${dir}: an access is allowed only when every program allows it`);
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
      if (rule.allow && rule.type !== "a" && rule.major >= 0 && rule.minor >= 0)
        for (const h of r.host)
          if (h.denies.some((d) => hostDenyMatches(d, rule.type as "b" | "c", rule.major, rule.minor, rule.access)))
            console.log(`note: the host policy (program ${h.progId}) still denies ${formatRule(rule)}: a host deny is checked first`);
      return 0;
    }
    default:
      throw new UsageError(`devices: unknown subcommand "${sub}"`);
  }
}
