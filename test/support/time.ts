// Time limits in tests, stretched where the machine is slower than the one they were set on: the VM
// lanes run the guest under qemu's TCG, several times slower than the host, and set
// HOOKSHIM_TEST_TIME_SCALE (test/vm/run.ts). A limit is a bound on a hang, never a performance claim.
export const TIME_SCALE = Math.max(1, Number(process.env.HOOKSHIM_TEST_TIME_SCALE) || 1);

/** `ms`, scaled for this machine. */
export function scaled(ms: number): number {
  return ms * TIME_SCALE;
}

/**
 * How many containers a burst test starts: all `n` on a host, a fifth (at least 8, the tests'
 * concurrency) in the VM lanes, where each runtime exec costs tens of times more under TCG. The
 * full bursts run in the host lane on every CI run.
 */
export function burst(n: number): number {
  return TIME_SCALE > 1 ? Math.max(8, Math.round(n / 5)) : n;
}
