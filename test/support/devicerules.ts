// Seeded device rule sets and the devices the device-filter tests probe, shared by the emulator's
// unit tests and the kernel comparison against the v1 controller.
import type { DeviceRule } from "../../lib/devices/rule.ts";

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface ProbeDevice {
  type: "b" | "c";
  major: number;
  minor: number;
  /** what it is on a Linux host (so a test can say which node it made) */
  name: string;
}

/** null, zero, tun, loop0 and sda: ones that exist on most hosts and ones that may not. */
export const PROBE_DEVICES: readonly ProbeDevice[] = [
  { type: "c", major: 1, minor: 3, name: "null" },
  { type: "c", major: 1, minor: 5, name: "zero" },
  { type: "c", major: 10, minor: 200, name: "tun" },
  { type: "b", major: 7, minor: 0, name: "loop0" },
  { type: "b", major: 8, minor: 0, name: "sda" },
];

const MAJORS = [1, 7, 8, 10, null];
const MINORS = [0, 3, 5, 200, null];
const pick = <T>(rand: () => number, xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;

function access(rand: () => number): string {
  const bits = 1 + Math.floor(rand() * 7);
  return (bits & 1 ? "r" : "") + (bits & 2 ? "w" : "") + (bits & 4 ? "m" : "");
}

/**
 * A random rule list over a small domain (so rules overlap, merge and conflict): usually an `a`
 * rule first, then up to 8 b/c rules, now and then another `a` in the middle. Some are rejected
 * by the emulator; callers skip those.
 */
export function randomRuleSet(rand: () => number): DeviceRule[] {
  const rules: DeviceRule[] = [];
  if (rand() < 0.8) rules.push({ allow: rand() < 0.4, type: "a", access: "rwm" });
  const n = 1 + Math.floor(rand() * 8);
  for (let i = 0; i < n; i++) {
    if (rand() < 0.05) {
      rules.push({ allow: rand() < 0.5, type: "a", access: "rwm" });
      continue;
    }
    rules.push({ allow: rand() < 0.6, type: rand() < 0.5 ? "b" : "c", major: pick(rand, MAJORS), minor: pick(rand, MINORS), access: access(rand) });
  }
  return rules;
}
