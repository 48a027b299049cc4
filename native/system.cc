// Process limits that decide what the other modes can do: RLIMIT_NOFILE
// bounds how many fds one epoll can watch, RLIMIT_SIGPENDING how many
// real-time signals can queue, RLIMIT_MEMLOCK how large an io_uring can be.
#include <sys/resource.h>

#include <cmath>

#include "addon.h"

namespace iomodes {

static double
LimitToJs(rlim_t v) {
  return v == RLIM_INFINITY ? INFINITY : static_cast<double>(v);
}

// getrlimit(resource, out Float64Array[2]) -> 0 | -errno; Infinity for
// RLIM_INFINITY.
static Napi::Value
Getrlimit(const Napi::CallbackInfo& info) {
  int32_t resource;
  uint8_t* out;
  size_t len;
  if (!ArgInt32(info, 0, &resource) || !ArgBytes(info, 1, &out, &len))
    return Napi::Value();
  if (len < 2 * sizeof(double)) {
    ThrowRangeError(info.Env(), "out must hold two numbers");
    return Napi::Value();
  }
  rlimit rl;
  if (getrlimit(resource, &rl) == -1) return Result(info.Env(), -errno);
  double* d = reinterpret_cast<double*>(out);
  d[0] = LimitToJs(rl.rlim_cur);
  d[1] = LimitToJs(rl.rlim_max);
  return Result(info.Env(), 0);
}

// setrlimit(resource, soft, hard): Infinity means RLIM_INFINITY.
static Napi::Value
Setrlimit(const Napi::CallbackInfo& info) {
  int32_t resource;
  if (!ArgInt32(info, 0, &resource)) return Napi::Value();
  if (!info[1].IsNumber() || !info[2].IsNumber()) {
    ThrowTypeError(info.Env(), "expected numbers");
    return Napi::Value();
  }
  double soft = info[1].As<Napi::Number>().DoubleValue();
  double hard = info[2].As<Napi::Number>().DoubleValue();
  rlimit rl;
  rl.rlim_cur = std::isinf(soft) ? RLIM_INFINITY : static_cast<rlim_t>(soft);
  rl.rlim_max = std::isinf(hard) ? RLIM_INFINITY : static_cast<rlim_t>(hard);
  return Result(info.Env(), IOMODES_ERRNO(setrlimit(resource, &rl)));
}

void
InitSystem(Napi::Env env, Napi::Object exports, Napi::Object constants) {
  Export(exports, "getrlimit", Getrlimit);
  Export(exports, "setrlimit", Setrlimit);

#define C(name) constants.Set(#name, Napi::Number::New(env, name))
  C(RLIMIT_NOFILE); C(RLIMIT_SIGPENDING); C(RLIMIT_MEMLOCK);
#undef C
}

}  // namespace iomodes
