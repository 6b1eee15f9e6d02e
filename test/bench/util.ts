// Shared helpers for benchmarks: repeat a measurement and print figures beside their baseline.
export function rounds<T>(n: number, f: () => T): T[] {
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(f());
  return out;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[s.length >> 1]! : NaN;
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : NaN;
}

export function report(title: string, rows: [string, string][]): void {
  const w = Math.max(...rows.map(([k]) => k.length));
  console.log(`\n${title}`);
  for (const [k, v] of rows) console.log(`  ${k.padEnd(w)}  ${v}`);
}

/**
 * CPU time (user + system, in ns) of a finished child and of the children it waited for (wait4's
 * rusage). On a shared machine it moves far less with the load than wall time does.
 */
export function cpuNs(p: { resourceUsage?: { cpuTime: { user: bigint | number; system: bigint | number } } }): number {
  const t = p.resourceUsage?.cpuTime;
  return t ? (Number(t.user) + Number(t.system)) * 1000 : NaN;
}

export function ms(ns: number): string {
  return `${(ns / 1e6).toFixed(3)} ms`;
}

export function us(ns: number): string {
  return `${(ns / 1e3).toFixed(1)} µs`;
}
