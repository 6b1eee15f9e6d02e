// Where a hook's time goes, for HOOKSHIM_TRACE_TIMING=1: one line on stderr when the hook ends, e.g.
//   hookshim: prestart 3f2a…: timing: 14.21 ms = boot 6.10 + config 0.93 + state 0.41 + …
// A hook runs on every container start, so this is how its cost is kept in view (test/bench/hooks.bench.ts
// measures the total; this says which phase it is in). Each phase is the time since the previous mark;
// the first is counted from the process's start (Bun.nanoseconds' zero), so "boot" is the runtime's
// start-up plus loading the modules the hook imports statically.

export const TIMING_ENV = "HOOKSHIM_TRACE_TIMING";

export class PhaseTimer {
  private readonly phases: [name: string, ns: number][] = [];
  private last = 0;

  constructor(readonly enabled = process.env[TIMING_ENV] === "1") {}

  /** Ends the current phase, naming it. */
  mark(phase: string): void {
    if (!this.enabled) return;
    const now = Bun.nanoseconds();
    this.phases.push([phase, now - this.last]);
    this.last = now;
  }

  /** "14.21 ms = boot 6.10 + config 0.93 + …" (milliseconds); "" when timing is off. */
  summary(): string {
    if (!this.enabled) return "";
    const ms = (ns: number) => (ns / 1e6).toFixed(2);
    return `${ms(this.last)} ms = ${this.phases.map(([name, ns]) => `${name} ${ms(ns)}`).join(" + ")}`;
  }
}
