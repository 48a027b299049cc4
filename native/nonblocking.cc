// Non-blocking I/O: the O_NONBLOCK file status flag and the MSG_DONTWAIT
// socket calls. An -EAGAIN result is not an error here: the TypeScript layer
// turns it into the WOULD_BLOCK sentinel without throwing.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "addon.h"

namespace iomodes {

static Napi::Value
FcntlGetfl(const Napi::CallbackInfo& info) {
  int32_t fd;
  if (!ArgInt32(info, 0, &fd)) return Napi::Value();
  return Result(info.Env(), IOMODES_ERRNO(fcntl(fd, F_GETFL)));
}

static Napi::Value
FcntlSetfl(const Napi::CallbackInfo& info) {
  int32_t fd, flags;
  if (!ArgInt32(info, 0, &fd) || !ArgInt32(info, 1, &flags))
    return Napi::Value();
  return Result(info.Env(), IOMODES_ERRNO(fcntl(fd, F_SETFL, flags)));
}

// recv/send(fd, buf, offset, length, flags): the caller adds MSG_DONTWAIT.
// Raw recvfrom/sendto (what glibc's recv/send make on x86-64), skipping the
// cancellation-point wrapper as blocking.cc explains.
static Napi::Value
Recv(const Napi::CallbackInfo& info) {
  int32_t fd, flags;
  uint8_t* p;
  size_t n;
  if (!ArgInt32(info, 0, &fd) || !ArgByteRange(info, 1, &p, &n) ||
      !ArgInt32(info, 4, &flags))
    return Napi::Value();
  return Result(info.Env(), IOMODES_RETRY(syscall(SYS_recvfrom, fd, p, n, flags, nullptr, nullptr)));
}

static Napi::Value
Send(const Napi::CallbackInfo& info) {
  int32_t fd, flags;
  uint8_t* p;
  size_t n;
  if (!ArgInt32(info, 0, &fd) || !ArgByteRange(info, 1, &p, &n) ||
      !ArgInt32(info, 4, &flags))
    return Napi::Value();
  return Result(info.Env(), IOMODES_RETRY(syscall(SYS_sendto, fd, p, n, flags, nullptr, 0)));
}

void
InitNonblocking(Napi::Env env, Napi::Object exports, Napi::Object constants) {
  Export(exports, "fcntl_getfl", FcntlGetfl);
  Export(exports, "fcntl_setfl", FcntlSetfl);
  Export(exports, "recv", Recv);
  Export(exports, "send", Send);

#define C(name) constants.Set(#name, Napi::Number::New(env, name))
  C(MSG_DONTWAIT); C(MSG_NOSIGNAL); C(MSG_PEEK); C(MSG_WAITALL); C(MSG_OOB);
  C(MSG_TRUNC);
#undef C
}

}  // namespace iomodes
