// Echo ping-pong load generator for bench/multiplex.mjs: CONNS TCP
// connections to 127.0.0.1:PORT, each sending MSG bytes and waiting for all
// of them to come back before sending again, driven by one epoll loop. Kept
// in C so the client is never the bottleneck; it reports its own CPU use.
//
//   cc -O2 -o echo-client bench/echo-client.c
//   ./echo-client PORT CONNS SECONDS MSG
//
// Prints one JSON line: {"roundTrips":N,"seconds":S,"cpuSeconds":C}.
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct conn {
  int fd;
  size_t got;  // bytes of the current echo received
};

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
         ru.ru_stime.tv_usec / 1e6;
}

static void die(const char* what) {
  perror(what);
  exit(1);
}

int main(int argc, char** argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: %s PORT CONNS SECONDS MSG\n", argv[0]);
    return 2;
  }
  int port = atoi(argv[1]);
  int nconns = atoi(argv[2]);
  double seconds = atof(argv[3]);
  size_t msg = (size_t)atoi(argv[4]);
  char* out = malloc(msg);
  char* in = malloc(msg);
  memset(out, 'p', msg);

  struct sockaddr_in addr;
  memset(&addr, 0, sizeof(addr));
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die("epoll_create1");
  struct conn* conns = calloc((size_t)nconns, sizeof(*conns));
  for (int i = 0; i < nconns; i++) {
    // Blocking connect (loopback, immediate), then non-blocking I/O.
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) die("socket");
    if (connect(fd, (struct sockaddr*)&addr, sizeof(addr)) < 0) die("connect");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) die("fcntl");
    conns[i].fd = fd;
    struct epoll_event ev = {.events = EPOLLIN, .data = {.ptr = &conns[i]}};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl");
  }

  double cpu0 = cpu();
  double t0 = now();
  double end = t0 + seconds;
  unsigned long long trips = 0;
  for (int i = 0; i < nconns; i++)
    if (write(conns[i].fd, out, msg) != (ssize_t)msg) die("write");

  struct epoll_event events[256];
  int running = 1;
  while (running) {
    int n = epoll_wait(ep, events, 256, 100);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int k = 0; k < n; k++) {
      // One read per event (level-triggered: anything left is reported
      // again), so the client spends as few syscalls as it can.
      struct conn* c = events[k].data.ptr;
      ssize_t r = read(c->fd, in, msg - c->got);
      if (r < 0) {
        if (errno == EAGAIN) continue;
        die("read");
      }
      if (r == 0) {
        fprintf(stderr, "server closed a connection\n");
        return 1;
      }
      c->got += (size_t)r;
      if (c->got == msg) {
        c->got = 0;
        trips++;
        if (write(c->fd, out, msg) != (ssize_t)msg) die("write");
      }
    }
    if (now() >= end) running = 0;
  }
  double elapsed = now() - t0;
  double used = cpu() - cpu0;
  for (int i = 0; i < nconns; i++) close(conns[i].fd);
  printf("{\"roundTrips\":%llu,\"seconds\":%.6f,\"cpuSeconds\":%.6f}\n", trips,
         elapsed, used);
  return 0;
}
