// The cgroup v1 devices controller (security/device_cgroup.c) in memory, as runc's devices emulator
// models it: a default (allow all or deny all) plus exceptions on exact (type, major, minor) keys.
// Rules are applied in order; decisions are the kernel's. Rule sets whose v1 meaning would silently
// differ from what they say (a removal that cannot reach an overlapping wildcard or narrower entry)
// are rejected, naming the rule.
import type { Exception, ReducedRules } from "../../bpf/devicefilter.ts";
import { DevcgAccess } from "../bpf/constants.ts";
import {
  DeviceRuleError, WILDCARD, formatRule, normalizeRules, toOciRule,
  type DeviceRule, type NormalRule,
} from "./rule.ts";

const key = (type: string, major: number, minor: number) => `${type} ${major}:${minor}`;

function covers(outer: Exception, inner: { type: string; major: number; minor: number }): boolean {
  return (
    outer.type === inner.type &&
    (outer.major === WILDCARD || outer.major === inner.major) &&
    (outer.minor === WILDCARD || outer.minor === inner.minor)
  );
}

/** Two matches that share at least one device. */
function overlaps(a: Exception, b: Exception): boolean {
  return (
    a.type === b.type &&
    (a.major === WILDCARD || b.major === WILDCARD || a.major === b.major) &&
    (a.minor === WILDCARD || b.minor === WILDCARD || a.minor === b.minor)
  );
}

export class Emulator {
  /** A fresh v1 cgroup under `a` deny: nothing allowed. */
  defaultAllow = false;
  private readonly entries = new Map<string, Exception>();

  static fromRules(rules: unknown, what = "rules"): Emulator {
    const e = new Emulator();
    e.applyAll(normalizeRules(rules, what), what);
    return e;
  }

  applyAll(rules: NormalRule[], what = "rules"): this {
    rules.forEach((r, i) => {
      try {
        this.apply(r);
      } catch (err) {
        throw new DeviceRuleError(`${r.source ?? `${what}[${i}]`} (${r.allow ? "allow" : "deny"} ${formatRule(r)}): ${(err as Error).message}`, i);
      }
    });
    return this;
  }

  apply(rule: NormalRule): void {
    if (rule.type === "a") {
      // Writing "a" to devices.allow or devices.deny drops every exception and sets the default.
      this.defaultAllow = rule.allow;
      this.entries.clear();
      return;
    }
    // As runc and the v1 controller do, a b/c rule without access bits changes nothing.
    if (rule.access === 0) return;
    const ex: Exception = { type: rule.type, major: rule.major, minor: rule.minor, access: rule.access };
    // An allow on an allow-list and a deny on a deny-list add an exception; the opposite removes one.
    if (rule.allow !== this.defaultAllow) this.add(ex);
    else this.remove(ex);
  }

  private add(ex: Exception): void {
    const k = key(ex.type, ex.major, ex.minor);
    const old = this.entries.get(k);
    this.entries.set(k, { ...ex, access: (old?.access ?? 0) | ex.access });
  }

  private remove(ex: Exception): void {
    // v1 removes access from the exact key only. Any other exception sharing a device and an access
    // bit would survive and keep admitting (or denying) what this rule names: runc refuses the
    // wildcard case ("cannot punch hole"); the narrower case is the same trap the other way round.
    for (const other of this.entries.values()) {
      if (other.type === ex.type && other.major === ex.major && other.minor === ex.minor) continue;
      if (overlaps(other, ex) && other.access & ex.access) {
        const kind = this.defaultAllow ? "deny" : "allow";
        throw new DeviceRuleError(
          `cannot be represented: it overlaps the ${kind} exception "${formatRule(other)}" and cgroup v1 only removes exact matches`,
        );
      }
    }
    const k = key(ex.type, ex.major, ex.minor);
    const old = this.entries.get(k);
    if (!old) return;
    const access = old.access & ~ex.access;
    if (access) this.entries.set(k, { ...old, access });
    else this.entries.delete(k);
  }

  /**
   * The v1 decision for one access to one device. Default deny: allowed when one exception matches
   * and holds every requested bit. Default allow: denied when any matching exception holds any
   * requested bit. A request with no bits (access(2) with F_OK) is therefore allowed under default
   * allow whatever the exceptions say, and under default deny wherever any exception matches.
   */
  allows(type: "b" | "c", major: number, minor: number, access: number): boolean {
    const dev = { type, major, minor };
    if (this.defaultAllow) {
      for (const ex of this.entries.values()) if (covers(ex, dev) && ex.access & access) return false;
      return true;
    }
    for (const ex of this.entries.values()) if (covers(ex, dev) && (access & ~ex.access) === 0) return true;
    return false;
  }

  /** Exceptions reduced to a minimal sorted list: empty ones and ones another exception subsumes go. */
  reduced(): ReducedRules {
    // Keys are exact, so only three other entries can cover one: its major with any minor, any major
    // with its minor, and any device of its type. Looked up, not searched: 1,000 rules took a
    // prestart some 17 ms comparing every pair.
    const subsumed = (e: Exception) =>
      [key(e.type, e.major, WILDCARD), key(e.type, WILDCARD, e.minor), key(e.type, WILDCARD, WILDCARD)].some((k) => {
        const o = this.entries.get(k);
        return o !== undefined && o !== e && o.access !== 0 && covers(o, e) && (e.access & ~o.access) === 0;
      });
    const exceptions = [...this.entries.values()].filter((e) => e.access !== 0 && !subsumed(e)).sort(compareExceptions);
    return { defaultAllow: this.defaultAllow, exceptions };
  }

  /** The reduced rules as an OCI list that rebuilds an equivalent emulator: `a` first, then the exceptions. */
  rules(): DeviceRule[] {
    const { defaultAllow, exceptions } = this.reduced();
    return [
      toOciRule({ allow: defaultAllow, type: "a", major: WILDCARD, minor: WILDCARD, access: DevcgAccess.ALL }),
      ...exceptions.map((e) => toOciRule({ allow: !defaultAllow, ...e })),
    ];
  }
}

// by code unit, not localeCompare: its first call builds an ICU collator, about half a millisecond of
// every prestart, for three one-letter types
function compareExceptions(a: Exception, b: Exception): number {
  return (a.type < b.type ? -1 : a.type > b.type ? 1 : 0) || a.major - b.major || a.minor - b.minor;
}

/** The emulator state a reduced rule set stands for. */
export function emulatorFromReduced(r: ReducedRules): Emulator {
  const e = new Emulator();
  e.apply({ allow: r.defaultAllow, type: "a", major: WILDCARD, minor: WILDCARD, access: DevcgAccess.ALL });
  for (const { type, major, minor, access } of r.exceptions) e.apply({ allow: !r.defaultAllow, type, major, minor, access });
  return e;
}

/**
 * A container's device decisions as the kernel makes them: the host's denies and the container's
 * v1 list are separate programs on the cgroup, and an access passes only when both allow it, so no
 * rule of the container can reach a host deny. `container` is absent when only the host policy is
 * enforced (the container's own rules are then left to the runtime).
 */
export class ContainerDevices {
  constructor(
    /** v1 semantics of the host's denies over allow-all */
    readonly host: Emulator,
    readonly container?: Emulator,
    /** the host's deny rules as given, in order (the program checks one block per rule, first) */
    readonly hostDenies: NormalRule[] = [],
  ) {}

  /** Host denies over allow-all, and the container's list from deny-all; DeviceRuleError names the rule at fault. */
  static fromRules(host: NormalRule[], container?: NormalRule[] | Emulator): ContainerDevices {
    const h = emulatorFromReduced({ defaultAllow: true, exceptions: [] });
    if (host.some((r) => r.allow)) throw new DeviceRuleError("host policy rules here are denies only");
    h.applyAll(host, "policy.rules");
    const c = container instanceof Emulator ? container : container && new Emulator().applyAll(container);
    return new ContainerDevices(h, c, host);
  }

  allows(type: "b" | "c", major: number, minor: number, access: number): boolean {
    return this.host.allows(type, major, minor, access) && (this.container?.allows(type, major, minor, access) ?? true);
  }
}
