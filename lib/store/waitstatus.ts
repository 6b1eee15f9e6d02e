// Wait statuses (task_struct.exit_code as the exit program records it, the `status` of wait(2)).

export interface ExitOutcome {
  /** set when the process exited normally */
  exitCode: number | null;
  /** set when a signal ended it */
  signal: number | null;
  coreDumped: boolean;
}

/** WIFEXITED/WEXITSTATUS, WTERMSIG/WCOREDUMP in one step. */
export function exitedEventFromWaitStatus(status: number): ExitOutcome {
  const termsig = status & 0x7f;
  if (termsig === 0) return { exitCode: (status >> 8) & 0xff, signal: null, coreDumped: false };
  return { exitCode: null, signal: termsig, coreDumped: (status & 0x80) !== 0 };
}

/** The inverse, for records written from a known outcome (tests, `waitpid` results from a shim). */
export function waitStatusOf(outcome: { exitCode?: number | null; signal?: number | null; coreDumped?: boolean }): number {
  if (outcome.signal) return (outcome.signal & 0x7f) | (outcome.coreDumped ? 0x80 : 0);
  return ((outcome.exitCode ?? 0) & 0xff) << 8;
}
