// The floor for a fanotify exec-permission listener: one FAN_CLASS_CONTENT group, a
// FAN_OPEN_EXEC_PERM mark on the given file, and a blocking loop that reads each event and answers
// FAN_ALLOW at once. notifier.bench.ts measures runtime execs under it, under hookshim's notifier and
// under no listener, in the same run. Prints "ready" once the mark is in place; ends on SIGTERM.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/fanotify.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s FILE\n", argv[0]);
    return 2;
  }
  int fan = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC, O_RDONLY | O_CLOEXEC);
  if (fan < 0 || fanotify_mark(fan, FAN_MARK_ADD, FAN_OPEN_EXEC_PERM, AT_FDCWD, argv[1]) < 0) {
    perror("fanotify");
    return 1;
  }
  printf("ready\n");
  fflush(stdout);
  char buf[4096] __attribute__((aligned(8)));
  for (;;) {
    ssize_t n = read(fan, buf, sizeof buf);
    if (n <= 0) continue;
    for (struct fanotify_event_metadata *m = (void *)buf; FAN_EVENT_OK(m, n); m = FAN_EVENT_NEXT(m, n)) {
      if (m->fd < 0) continue;
      struct fanotify_response r = {.fd = m->fd, .response = FAN_ALLOW};
      write(fan, &r, sizeof r);
      close(m->fd);
    }
  }
}
