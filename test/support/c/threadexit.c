/* Processes whose thread group outlives its leader, for the exit-tracking tests.
 *
 *   threadexit leader-exits CODE   the leader calls pthread_exit; a second thread waits for a line on
 *                                  stdin, then ends the process with exit(CODE).
 *   threadexit exec-from-thread    a second thread execs `/bin/sh -c 'read x; exit 9'`: de_thread
 *                                  kills the leader and the process goes on as sh under the same pid.
 *
 * Either way the leader thread dies long before the process does, and neither may be taken for the
 * process ending. Both first wait for a line on stdin, so the caller can start tracing the pid
 * before anything happens, and print "ready" once the leader is gone (leader-exits) or just before
 * the exec.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int code;

static void *wait_then_exit(void *arg) {
  (void)arg;
  char line[16];
  sleep(1); /* let the leader's pthread_exit run first */
  printf("ready\n");
  fflush(stdout);
  if (!fgets(line, sizeof line, stdin)) exit(99);
  exit(code);
}

static void *exec_sh(void *arg) {
  (void)arg;
  printf("ready\n");
  fflush(stdout);
  execl("/bin/sh", "sh", "-c", "read x; exit 9", (char *)NULL);
  perror("execl");
  exit(98);
}

int main(int argc, char **argv) {
  pthread_t t;
  char go[16];
  if (!fgets(go, sizeof go, stdin)) return 96;
  if (argc >= 3 && strcmp(argv[1], "leader-exits") == 0) {
    code = atoi(argv[2]);
    if (pthread_create(&t, NULL, wait_then_exit, NULL)) return 97;
    pthread_exit(NULL);
  }
  if (argc >= 2 && strcmp(argv[1], "exec-from-thread") == 0) {
    if (pthread_create(&t, NULL, exec_sh, NULL)) return 97;
    pause();
  }
  fprintf(stderr, "usage: threadexit leader-exits CODE | exec-from-thread\n");
  return 2;
}
