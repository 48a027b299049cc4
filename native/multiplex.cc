// I/O multiplexing: select, poll and epoll. Each binding is one syscall
// (retried on EINTR with the remaining time recomputed, since none of these
// calls is restarted by SA_RESTART). JS owns every buffer the kernel fills:
// the pollfd array, the epoll_event array and select's result bytes, so a
// JS object that waits in a loop allocates nothing here per call.
#include <poll.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "addon.h"

namespace iomodes {

namespace {

double
NowMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

// A wait budget: negative waits forever. After EINTR, Remaining() gives
// what is left (0 once the deadline passed), so a signal never stretches
// or cuts short the caller's timeout.
struct Deadline {
  double timeout;
  double end;
  explicit Deadline(double t) : timeout(t), end(t < 0 ? 0 : NowMs() + t) {}
  double Remaining() const {
    if (timeout < 0) return -1;
    double left = end - NowMs();
    return left > 0 ? left : 0;
  }
  // poll/epoll take whole milliseconds: round up, so we never return early.
  // ArgTimeout caps the timeout at INT32_MAX, so the cast cannot overflow.
  int RemainingInt() const {
    double left = Remaining();
    return left < 0 ? -1 : static_cast<int>(std::ceil(left));
  }
};

// Copies an Int32Array argument of fds into native memory: select checks
// each fd against FD_SETSIZE, then uses it twice more (FD_SET, FD_ISSET),
// and JS memory could change in between (a SharedArrayBuffer another
// thread writes, or the out array aliasing a list).
bool
ArgFdList(const Napi::CallbackInfo& info, size_t i, std::vector<int>* fds) {
  napi_env env = info.Env();
  bool is;
  napi_typedarray_type type;
  size_t length;
  void* p;
  if (napi_is_typedarray(env, info[i], &is) != napi_ok || !is ||
      napi_get_typedarray_info(env, info[i], &type, &length, &p, nullptr,
                               nullptr) != napi_ok ||
      type != napi_int32_array) {
    ThrowTypeError(env, "the fd lists must be Int32Arrays");
    return false;
  }
  fds->resize(length);
  if (length > 0) memcpy(fds->data(), p, length * sizeof(int32_t));
  for (int fd : *fds) {
    if (fd < 0 || fd >= FD_SETSIZE) {
      ThrowRangeError(env, "select() fds must be >= 0 && < FD_SETSIZE");
      return false;
    }
  }
  return true;
}

// A timeout in milliseconds: any negative number or +Infinity waits
// forever (-1); others are capped at INT32_MAX (24.8 days), which every
// wait below can represent.
bool
ArgTimeout(const Napi::CallbackInfo& info, size_t i, double* out) {
  if (!info[i].IsNumber()) {
    ThrowTypeError(info.Env(), "the timeout must be a number of milliseconds");
    return false;
  }
  double t = info[i].As<Napi::Number>().DoubleValue();
  if (std::isnan(t)) {
    ThrowRangeError(info.Env(), "the timeout must not be NaN");
    return false;
  }
  *out = (t < 0 || std::isinf(t)) ? -1 : std::min(t, 2147483647.0);
  return true;
}

// select(readFds, writeFds, exceptFds, timeoutMs, out) -> ready count |
// -errno. out[k] is set to 1 for each ready fd, in the order of the three
// lists concatenated. Every fd is checked against FD_SETSIZE before any
// FD_SET: beyond it, FD_SET writes past the fd_set (or aborts under
// _FORTIFY_SOURCE).
Napi::Value
Select(const Napi::CallbackInfo& info) {
  std::vector<int> lists[3];
  double timeout;
  uint8_t* out;
  size_t outLen;
  if (!ArgFdList(info, 0, &lists[0]) || !ArgFdList(info, 1, &lists[1]) ||
      !ArgFdList(info, 2, &lists[2]) || !ArgTimeout(info, 3, &timeout) ||
      !ArgBytes(info, 4, &out, &outLen))
    return Napi::Value();
  size_t total = lists[0].size() + lists[1].size() + lists[2].size();
  if (outLen < total) {
    ThrowRangeError(info.Env(), "out must hold one byte per fd");
    return Napi::Value();
  }
  int nfds = 0;
  for (const auto& list : lists)
    for (int fd : list)
      if (fd + 1 > nfds) nfds = fd + 1;
  Deadline deadline(timeout);
  fd_set sets[3];
  int r;
  for (;;) {
    for (int s = 0; s < 3; s++) {
      FD_ZERO(&sets[s]);
      for (int fd : lists[s]) FD_SET(fd, &sets[s]);
    }
    double left = deadline.Remaining();
    timeval tv;
    if (left >= 0) {
      long us = static_cast<long>(std::ceil(left * 1000));
      tv.tv_sec = us / 1000000;
      tv.tv_usec = us % 1000000;
    }
    r = select(nfds, lists[0].empty() ? nullptr : &sets[0],
               lists[1].empty() ? nullptr : &sets[1],
               lists[2].empty() ? nullptr : &sets[2], left < 0 ? nullptr : &tv);
    if (r >= 0 || errno != EINTR) break;
  }
  if (r < 0) return Result(info.Env(), -errno);
  size_t o = 0;
  for (int s = 0; s < 3; s++)
    for (int fd : lists[s]) out[o++] = FD_ISSET(fd, &sets[s]) ? 1 : 0;
  return Result(info.Env(), r);
}

// poll(pollfds, nfds, timeoutMs) -> ready count | -errno. `pollfds` is JS
// memory laid out as struct pollfd[nfds] (int fd, short events, short
// revents); the kernel writes revents in place.
Napi::Value
Poll(const Napi::CallbackInfo& info) {
  uint8_t* p;
  size_t len;
  uint32_t nfds;
  double timeout;
  if (!ArgBytes(info, 0, &p, &len) || !ArgUint32(info, 1, &nfds) ||
      !ArgTimeout(info, 2, &timeout))
    return Napi::Value();
  if (static_cast<uint64_t>(nfds) * sizeof(pollfd) > len) {
    ThrowRangeError(info.Env(), "pollfds must hold nfds struct pollfd entries");
    return Napi::Value();
  }
  if (reinterpret_cast<uintptr_t>(p) % alignof(pollfd) != 0) {
    ThrowRangeError(info.Env(), "pollfds must be 4-byte aligned");
    return Napi::Value();
  }
  auto* fds = reinterpret_cast<pollfd*>(p);
  Deadline deadline(timeout);
  int r;
  do {
    r = poll(fds, nfds, deadline.RemainingInt());
  } while (r < 0 && errno == EINTR);
  return Result(info.Env(), r < 0 ? -errno : r);
}

// epoll_create1(flags) -> fd | -errno. The fd is owned (see fd_own): close
// it with fd_close_owned, after fd_own(fd) gives its generation.
Napi::Value
EpollCreate1(const Napi::CallbackInfo& info) {
  int32_t flags;
  if (!ArgInt32(info, 0, &flags)) return Napi::Value();
  long fd = IOMODES_ERRNO(epoll_create1(flags));
  // Owned before JS runs again: a Worker terminated before its Epoll's
  // fd_own(fd) would otherwise leak the fd (the worker-churn soak saw it).
  if (fd >= 0) OwnFd(info.Env(), static_cast<int>(fd));
  return Result(info.Env(), fd);
}

// epoll_ctl(epfd, op, fd, events, token) -> 0 | -errno. `token` (a safe
// integer or bigint) goes to the kernel as epoll_data.u64 and comes back
// with every event: the JS side maps it to the registration.
Napi::Value
EpollCtl(const Napi::CallbackInfo& info) {
  int32_t epfd, op, fd;
  uint32_t events;
  int64_t token;
  if (!ArgInt32(info, 0, &epfd) || !ArgInt32(info, 1, &op) ||
      !ArgInt32(info, 2, &fd) || !ArgUint32(info, 3, &events) ||
      !ArgInt64(info, 4, &token))
    return Napi::Value();
  epoll_event ev;
  memset(&ev, 0, sizeof(ev));
  ev.events = events;
  ev.data.u64 = static_cast<uint64_t>(token);
  return Result(info.Env(), IOMODES_ERRNO(epoll_ctl(epfd, op, fd, &ev)));
}

// epoll_wait(epfd, out, maxEvents, timeoutMs) -> event count | -errno.
// `out` is JS memory for maxEvents struct epoll_event (packed on x86-64:
// u32 events then u64 data, 12 bytes each; EPOLL_EVENT_SIZE says which).
Napi::Value
EpollWait(const Napi::CallbackInfo& info) {
  int32_t epfd, maxEvents;
  uint8_t* p;
  size_t len;
  double timeout;
  if (!ArgInt32(info, 0, &epfd) || !ArgBytes(info, 1, &p, &len) ||
      !ArgInt32(info, 2, &maxEvents) || !ArgTimeout(info, 3, &timeout))
    return Napi::Value();
  if (maxEvents <= 0 ||
      static_cast<uint64_t>(maxEvents) * sizeof(epoll_event) > len) {
    ThrowRangeError(info.Env(),
                    "maxEvents must be > 0 and out must hold that many events");
    return Napi::Value();
  }
  if (reinterpret_cast<uintptr_t>(p) % alignof(epoll_event) != 0) {
    ThrowRangeError(info.Env(), "out is not aligned for struct epoll_event");
    return Napi::Value();
  }
  auto* events = reinterpret_cast<epoll_event*>(p);
  Deadline deadline(timeout);
  int r;
  do {
    r = epoll_wait(epfd, events, maxEvents, deadline.RemainingInt());
  } while (r < 0 && errno == EINTR);
  return Result(info.Env(), r < 0 ? -errno : r);
}

}  // namespace

void
InitMultiplex(Napi::Env env, Napi::Object exports, Napi::Object constants) {
  Export(exports, "select", Select);
  Export(exports, "poll", Poll);
  Export(exports, "epoll_create1", EpollCreate1);
  Export(exports, "epoll_ctl", EpollCtl);
  Export(exports, "epoll_wait", EpollWait);

#define C(name) constants.Set(#name, Napi::Number::New(env, name))
  C(FD_SETSIZE);
  C(POLLIN); C(POLLOUT); C(POLLPRI); C(POLLERR); C(POLLHUP); C(POLLNVAL);
  C(POLLRDHUP);
  C(EPOLL_CLOEXEC); C(EPOLL_CTL_ADD); C(EPOLL_CTL_MOD); C(EPOLL_CTL_DEL);
  // Unsigned: EPOLLET is bit 31.
  C(EPOLLIN); C(EPOLLOUT); C(EPOLLPRI); C(EPOLLERR); C(EPOLLHUP);
  C(EPOLLRDHUP); C(EPOLLET); C(EPOLLONESHOT); C(EPOLLEXCLUSIVE);
  C(EPOLLWAKEUP);
#undef C
  constants.Set("POLLFD_SIZE", Napi::Number::New(env, sizeof(pollfd)));
  constants.Set("EPOLL_EVENT_SIZE",
                Napi::Number::New(env, sizeof(epoll_event)));
  // Offset of epoll_data within struct epoll_event: 4 when packed (x86-64),
  // 8 where the struct is naturally aligned (arm64).
  constants.Set("EPOLL_EVENT_DATA_OFFSET",
                Napi::Number::New(env, offsetof(epoll_event, data)));
}

}  // namespace iomodes
