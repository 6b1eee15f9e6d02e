// Baseline for test/bench/bpfmap.bench.ts: the same hash-map lookup/update loop through bpf(2) from C.
#include <linux/bpf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long sys_bpf(int cmd, union bpf_attr *attr) { return syscall(__NR_bpf, cmd, attr, sizeof(*attr)); }
static double now(void) { struct timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts); return ts.tv_sec + ts.tv_nsec / 1e9; }

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 200000;
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.map_type = BPF_MAP_TYPE_HASH; a.key_size = 4; a.value_size = 8; a.max_entries = 1024;
  int fd = sys_bpf(BPF_MAP_CREATE, &a);
  if (fd < 0) { perror("map create"); return 1; }
  uint32_t key; uint64_t val = 0;
  double t0 = now();
  for (long i = 0; i < n; i++) {
    key = i & 1023; val = i;
    memset(&a, 0, sizeof(a));
    a.map_fd = fd; a.key = (uintptr_t)&key; a.value = (uintptr_t)&val; a.flags = BPF_ANY;
    if (sys_bpf(BPF_MAP_UPDATE_ELEM, &a) < 0) { perror("update"); return 1; }
  }
  double t1 = now();
  for (long i = 0; i < n; i++) {
    key = i & 1023;
    memset(&a, 0, sizeof(a));
    a.map_fd = fd; a.key = (uintptr_t)&key; a.value = (uintptr_t)&val;
    if (sys_bpf(BPF_MAP_LOOKUP_ELEM, &a) < 0) { perror("lookup"); return 1; }
  }
  double t2 = now();
  printf("{\"update\": %.0f, \"lookup\": %.0f}\n", n / (t1 - t0), n / (t2 - t1));
  return 0;
}
