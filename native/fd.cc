// fd primitives every mode needs: open/close/dup, pipes, eventfds and
// sockets. Addresses cross as (family, host-or-path, port); the sockaddr
// structs never leave this file.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "addon.h"

namespace iomodes {

bool
ArgSockaddr(const Napi::CallbackInfo& info,
            size_t i,
            sockaddr_storage* ss,
            socklen_t* len,
            long* err) {
  int32_t family;
  int64_t port;
  std::string host;
  if (!ArgInt32(info, i, &family) || !ArgString(info, i + 1, &host) ||
      !ArgIntRange(info, i + 2, 0, 65535, &port))
    return false;
  // Only an abstract Unix name (leading NUL) may hold NULs: the kernel cuts
  // a pathname, and inet_pton an address, at the first one.
  if ((family != AF_UNIX || host.empty() || host[0] != '\0') &&
      host.find('\0') != std::string::npos) {
    ThrowValueError(info.Env(),
                    "the address must not hold null bytes (except an "
                    "abstract Unix name's leading one)");
    return false;
  }
  memset(ss, 0, sizeof(*ss));
  *err = 0;
  if (family == AF_INET) {
    auto* sin = reinterpret_cast<sockaddr_in*>(ss);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET, host.c_str(), &sin->sin_addr) != 1) *err = -EINVAL;
    *len = sizeof(*sin);
  } else if (family == AF_INET6) {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(ss);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET6, host.c_str(), &sin6->sin6_addr) != 1)
      *err = -EINVAL;
    *len = sizeof(*sin6);
  } else if (family == AF_UNIX) {
    auto* sun = reinterpret_cast<sockaddr_un*>(ss);
    sun->sun_family = AF_UNIX;
    // A leading NUL names an abstract socket; its length is exact, so it may
    // fill sun_path. A pathname needs room for its terminating NUL.
    bool abstract = !host.empty() && host[0] == '\0';
    if (host.size() > sizeof(sun->sun_path) ||
        (!abstract && host.size() == sizeof(sun->sun_path))) {
      *err = -ENAMETOOLONG;
      return true;
    }
    memcpy(sun->sun_path, host.data(), host.size());
    *len = offsetof(sockaddr_un, sun_path) + host.size() +
           (host.empty() || abstract ? 0 : 1);
  } else {
    *err = -EAFNOSUPPORT;
  }
  return true;
}

// A sockaddr as a JS object: { family, address, port } or { family, path }.
static Napi::Value
SockaddrToJs(Napi::Env env, const sockaddr_storage& ss, socklen_t len) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("family", Napi::Number::New(env, ss.ss_family));
  char buf[INET6_ADDRSTRLEN];
  if (ss.ss_family == AF_INET) {
    auto* sin = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof(buf));
    o.Set("address", Napi::String::New(env, buf));
    o.Set("port", Napi::Number::New(env, ntohs(sin->sin_port)));
  } else if (ss.ss_family == AF_INET6) {
    auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &sin6->sin6_addr, buf, sizeof(buf));
    o.Set("address", Napi::String::New(env, buf));
    o.Set("port", Napi::Number::New(env, ntohs(sin6->sin6_port)));
  } else if (ss.ss_family == AF_UNIX) {
    auto* sun = reinterpret_cast<const sockaddr_un*>(&ss);
    size_t n = len > offsetof(sockaddr_un, sun_path)
                   ? len - offsetof(sockaddr_un, sun_path)
                   : 0;
    // Pathname sockets carry a trailing NUL; abstract ones do not.
    if (n > 0 && sun->sun_path[0] != '\0') n = strnlen(sun->sun_path, n);
    o.Set("path", Napi::String::New(env, sun->sun_path, n));
  }
  return o;
}

static Napi::Value
Open(const Napi::CallbackInfo& info) {
  std::string path;
  int32_t flags;
  uint32_t mode;
  if (!ArgPath(info, 0, &path) || !ArgInt32(info, 1, &flags) ||
      !ArgUint32(info, 2, &mode))
    return Napi::Value();
  return Result(info.Env(), IOMODES_RETRY(open(path.c_str(), flags, mode)));
}

bool
IsOwnedFd(napi_env env, int fd) {
  AddonData* data = GetAddonData(env);
  return data != nullptr && data->owned_fds.count(fd) != 0;
}

static Napi::Value
Close(const Napi::CallbackInfo& info) {
  int32_t fd;
  if (!ArgInt32(info, 0, &fd)) return Napi::Value();
  // An owned fd is closed by its owner only: closing it here would let the
  // owner (or the teardown hook) close the number again, by then maybe
  // another file's.
  if (IsOwnedFd(info.Env(), fd)) return Result(info.Env(), -EBUSY);
  // Never retried: on Linux the fd is gone even when close() says EINTR.
  return Result(info.Env(), IOMODES_ERRNO(close(fd)));
}

// fd_own(fd) -> generation (> 0) | -errno: an iomodes object (an Epoll)
// takes ownership of an fd the kernel just gave it. From now on only
// fd_close_owned(fd, generation) closes it, or, if its owner never does,
// the environment's teardown: a terminated Worker leaks no fd. An entry
// already under that number is stale (its fd was closed behind our back,
// e.g. by fs.closeSync, or the kernel could not have reused the number):
// the new generation replaces it, and the old owner's close becomes -EBADF.
double
OwnFd(napi_env env, int fd) {
  AddonData* data = GetAddonData(env);
  if (data == nullptr) return 0;
  double generation = data->next_generation++;
  data->owned_fds[fd] = generation;
  return generation;
}

static Napi::Value
FdOwn(const Napi::CallbackInfo& info) {
  int32_t fd;
  if (!ArgInt32(info, 0, &fd)) return Napi::Value();
  if (fcntl(fd, F_GETFD) == -1) return Result(info.Env(), -errno);
  double generation = OwnFd(info.Env(), fd);
  if (generation == 0) return Result(info.Env(), -EINVAL);
  return Napi::Number::New(info.Env(), generation);
}

// fd_close_owned(fd, generation) -> 0 | -errno. The generation makes a
// stale or forged call a harmless -EBADF: it can never close the fd that
// a later owner was given under the same number.
static Napi::Value
FdCloseOwned(const Napi::CallbackInfo& info) {
  int32_t fd;
  int64_t generation;
  if (!ArgInt32(info, 0, &fd) ||
      !ArgIntRange(info, 1, 1, INT64_C(9007199254740991), &generation))
    return Napi::Value();
  AddonData* data = GetAddonData(info.Env());
  auto it = data == nullptr ? decltype(data->owned_fds)::iterator()
                            : data->owned_fds.find(fd);
  if (data == nullptr || it == data->owned_fds.end() ||
      it->second != static_cast<double>(generation))
    return Result(info.Env(), -EBADF);
  data->owned_fds.erase(it);
  return Result(info.Env(), IOMODES_ERRNO(close(fd)));
}

// At environment teardown (Worker exit, process exit): close what owners
// left open. Runs before the instance data is deleted (hooks run LIFO, and
// Node-API registered its own before this one).
static void
CloseOwnedFds(void* arg) {
  auto* data = static_cast<AddonData*>(arg);
  for (const auto& entry : data->owned_fds) close(entry.first);
  data->owned_fds.clear();
}

// dup via F_DUPFD(_CLOEXEC), so the copy can be close-on-exec atomically.
static Napi::Value
Dup(const Napi::CallbackInfo& info) {
  int32_t fd, cloexec;
  if (!ArgInt32(info, 0, &fd) || !ArgInt32(info, 1, &cloexec))
    return Napi::Value();
  return Result(info.Env(), IOMODES_ERRNO(fcntl(
                                fd, cloexec ? F_DUPFD_CLOEXEC : F_DUPFD, 0)));
}

// pipe2(flags) writes both ends into the Int32Array at info[1].
static Napi::Value
Pipe2(const Napi::CallbackInfo& info) {
  int32_t flags;
  uint8_t* out;
  if (!ArgInt32(info, 0, &flags) || !ArgOut(info, 1, 2 * sizeof(int), &out))
    return Napi::Value();
  int fds[2];
  long r = IOMODES_ERRNO(pipe2(fds, flags));
  if (r == 0) memcpy(out, fds, sizeof(fds));
  return Result(info.Env(), r);
}

static Napi::Value
Socketpair(const Napi::CallbackInfo& info) {
  int32_t domain, type, protocol;
  uint8_t* out;
  if (!ArgInt32(info, 0, &domain) || !ArgInt32(info, 1, &type) ||
      !ArgInt32(info, 2, &protocol) || !ArgOut(info, 3, 2 * sizeof(int), &out))
    return Napi::Value();
  int fds[2];
  long r = IOMODES_ERRNO(socketpair(domain, type, protocol, fds));
  if (r == 0) memcpy(out, fds, sizeof(fds));
  return Result(info.Env(), r);
}

static Napi::Value
Eventfd(const Napi::CallbackInfo& info) {
  uint32_t initval;
  int32_t flags;
  if (!ArgUint32(info, 0, &initval) || !ArgInt32(info, 1, &flags))
    return Napi::Value();
  return Result(info.Env(), IOMODES_ERRNO(eventfd(initval, flags)));
}

static Napi::Value
Socket(const Napi::CallbackInfo& info) {
  int32_t domain, type, protocol;
  if (!ArgInt32(info, 0, &domain) || !ArgInt32(info, 1, &type) ||
      !ArgInt32(info, 2, &protocol))
    return Napi::Value();
  return Result(info.Env(), IOMODES_ERRNO(socket(domain, type, protocol)));
}

static Napi::Value
Bind(const Napi::CallbackInfo& info) {
  int32_t fd;
  sockaddr_storage ss;
  socklen_t len;
  long err;
  if (!ArgInt32(info, 0, &fd) || !ArgSockaddr(info, 1, &ss, &len, &err))
    return Napi::Value();
  if (err) return Result(info.Env(), err);
  return Result(info.Env(),
                IOMODES_ERRNO(bind(fd, reinterpret_cast<sockaddr*>(&ss), len)));
}

static Napi::Value
Listen(const Napi::CallbackInfo& info) {
  int32_t fd, backlog;
  if (!ArgInt32(info, 0, &fd) || !ArgInt32(info, 1, &backlog))
    return Napi::Value();
  return Result(info.Env(), IOMODES_ERRNO(listen(fd, backlog)));
}

static Napi::Value
Accept4(const Napi::CallbackInfo& info) {
  int32_t fd, flags;
  if (!ArgInt32(info, 0, &fd) || !ArgInt32(info, 1, &flags))
    return Napi::Value();
  return Result(info.Env(),
                IOMODES_RETRY(accept4(fd, nullptr, nullptr, flags)));
}

// Not retried on EINTR: a restarted connect() fails with EALREADY; the
// caller waits for writability and reads SO_ERROR instead.
static Napi::Value
Connect(const Napi::CallbackInfo& info) {
  int32_t fd;
  sockaddr_storage ss;
  socklen_t len;
  long err;
  if (!ArgInt32(info, 0, &fd) || !ArgSockaddr(info, 1, &ss, &len, &err))
    return Napi::Value();
  if (err) return Result(info.Env(), err);
  return Result(info.Env(), IOMODES_ERRNO(connect(
                                fd, reinterpret_cast<sockaddr*>(&ss), len)));
}

static Napi::Value
Shutdown(const Napi::CallbackInfo& info) {
  int32_t fd, how;
  if (!ArgInt32(info, 0, &fd) || !ArgInt32(info, 1, &how))
    return Napi::Value();
  return Result(info.Env(), IOMODES_ERRNO(shutdown(fd, how)));
}

// getsockname/getpeername: the address object, or -errno as a number.
template <int (*F)(int, sockaddr*, socklen_t*)>
static Napi::Value
SockName(const Napi::CallbackInfo& info) {
  int32_t fd;
  if (!ArgInt32(info, 0, &fd)) return Napi::Value();
  sockaddr_storage ss;
  socklen_t len = sizeof(ss);
  memset(&ss, 0, sizeof(ss));
  if (F(fd, reinterpret_cast<sockaddr*>(&ss), &len) == -1)
    return Result(info.Env(), -errno);
  return SockaddrToJs(info.Env(), ss, len);
}

static Napi::Value
Setsockopt(const Napi::CallbackInfo& info) {
  int32_t fd, level, name, value;
  if (!ArgInt32(info, 0, &fd) || !ArgInt32(info, 1, &level) ||
      !ArgInt32(info, 2, &name) || !ArgInt32(info, 3, &value))
    return Napi::Value();
  return Result(info.Env(), IOMODES_ERRNO(setsockopt(fd, level, name, &value,
                                                     sizeof(value))));
}

// getsockopt for int options: writes the value into the Int32Array at
// info[3] and returns 0 or -errno.
static Napi::Value
Getsockopt(const Napi::CallbackInfo& info) {
  int32_t fd, level, name;
  uint8_t* out;
  if (!ArgInt32(info, 0, &fd) || !ArgInt32(info, 1, &level) ||
      !ArgInt32(info, 2, &name) || !ArgOut(info, 3, sizeof(int), &out))
    return Napi::Value();
  int value = 0;
  socklen_t optlen = sizeof(value);
  long r = IOMODES_ERRNO(getsockopt(fd, level, name, &value, &optlen));
  if (r == 0) memcpy(out, &value, sizeof(value));
  return Result(info.Env(), r);
}

void
InitFd(Napi::Env env, Napi::Object exports, Napi::Object constants) {
  Export(exports, "open", Open);
  Export(exports, "close", Close);
  Export(exports, "fd_own", FdOwn);
  Export(exports, "fd_close_owned", FdCloseOwned);
  napi_add_env_cleanup_hook(env, CloseOwnedFds, GetAddonData(env));
  Export(exports, "dup", Dup);
  Export(exports, "pipe2", Pipe2);
  Export(exports, "socketpair", Socketpair);
  Export(exports, "eventfd", Eventfd);
  Export(exports, "socket", Socket);
  Export(exports, "bind", Bind);
  Export(exports, "listen", Listen);
  Export(exports, "accept4", Accept4);
  Export(exports, "connect", Connect);
  Export(exports, "shutdown", Shutdown);
  Export(exports, "getsockname", SockName<getsockname>);
  Export(exports, "getpeername", SockName<getpeername>);
  Export(exports, "setsockopt", Setsockopt);
  Export(exports, "getsockopt", Getsockopt);

#define C(name) constants.Set(#name, Napi::Number::New(env, name))
  C(O_RDONLY); C(O_WRONLY); C(O_RDWR); C(O_CREAT); C(O_EXCL); C(O_TRUNC);
  C(O_APPEND); C(O_NONBLOCK); C(O_CLOEXEC); C(O_DIRECT); C(O_SYNC);
  C(O_DSYNC); C(O_NOATIME); C(O_NOFOLLOW); C(O_DIRECTORY); C(O_TMPFILE);
  C(O_NOCTTY); C(O_PATH); C(O_ASYNC);
  C(AF_INET); C(AF_INET6); C(AF_UNIX);
  C(SOCK_STREAM); C(SOCK_DGRAM); C(SOCK_SEQPACKET); C(SOCK_NONBLOCK);
  C(SOCK_CLOEXEC);
  C(SHUT_RD); C(SHUT_WR); C(SHUT_RDWR);
  C(SOL_SOCKET); C(IPPROTO_TCP); C(IPPROTO_IPV6);
  C(SO_REUSEADDR); C(SO_REUSEPORT); C(SO_KEEPALIVE); C(SO_RCVBUF);
  C(SO_SNDBUF); C(SO_BROADCAST); C(SO_ERROR); C(SO_TYPE); C(SO_RCVLOWAT);
  C(SO_SNDLOWAT); C(TCP_NODELAY); C(IPV6_V6ONLY);
  C(EFD_CLOEXEC); C(EFD_NONBLOCK); C(EFD_SEMAPHORE);
  C(SOMAXCONN);
#undef C
}

}  // namespace iomodes
