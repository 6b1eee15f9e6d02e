// The cost of one syscall (getppid), as the fastest of 200 batches of 10000: notifier.bench.ts runs it
// with and without the execargs program attached. A syscalls:sys_enter_* tracepoint with anything
// attached puts every task of the host on the syscall tracing path, so every syscall pays, not only
// execs. Prints ns per call.
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e9 + t.tv_nsec;
}

int main(void) {
  double best = 1e18;
  for (int b = 0; b < 200; b++) {
    double start = now_ns();
    for (int i = 0; i < 10000; i++) syscall(SYS_getppid);
    double per = (now_ns() - start) / 10000;
    if (per < best) best = per;
  }
  printf("%.1f\n", best);
  return 0;
}
