/* Baseline for cgroup.bench.ts: the same mkdir / write / readdir+read / rmdir per cgroup, in C.
 * usage: cgroup_baseline PARENT N NWRITES file value ... file ...   (reads follow the writes)
 * prints the elapsed nanoseconds. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv) {
  if (argc < 4) return 2;
  const char *parent = argv[1];
  int n = atoi(argv[2]), nw = atoi(argv[3]);
  char **writes = argv + 4, **reads = argv + 4 + 2 * nw;
  int nr = argc - 4 - 2 * nw;
  char dir[4096], path[4096], buf[8192];
  long long t0 = now_ns();
  for (int i = 0; i < n; i++) {
    snprintf(dir, sizeof dir, "%s/c%d", parent, i);
    if (mkdir(dir, 0755) < 0) { perror(dir); return 1; }
    for (int w = 0; w < nw; w++) {
      snprintf(path, sizeof path, "%s/%s", dir, writes[2 * w]);
      int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
      if (fd < 0 || write(fd, writes[2 * w + 1], strlen(writes[2 * w + 1])) < 0) { perror(path); return 1; }
      close(fd);
    }
    DIR *d = opendir(dir); /* stat() lists the directory to learn which controllers are present */
    while (readdir(d)) {}
    closedir(d);
    for (int r = 0; r < nr; r++) {
      snprintf(path, sizeof path, "%s/%s", dir, reads[r]);
      int fd = open(path, O_RDONLY | O_CLOEXEC);
      if (fd < 0) continue;
      while (read(fd, buf, sizeof buf) > 0) {}
      close(fd);
    }
    if (rmdir(dir) < 0) { perror(dir); return 1; }
  }
  printf("%lld\n", now_ns() - t0);
  return 0;
}
