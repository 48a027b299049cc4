// Process limits that decide what the other modes can do: RLIMIT_NOFILE
// bounds how many fds one epoll can watch, RLIMIT_SIGPENDING how many
// real-time signals can queue, RLIMIT_MEMLOCK how large an io_uring can be.
#include <sys/resource.h>

#include <cmath>
#include <cstring>

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
  if (!ArgInt32(info, 0, &resource) || !ArgOut(info, 1, 2 * sizeof(double), &out))
    return Napi::Value();
  rlimit rl;
  if (getrlimit(resource, &rl) == -1) return Result(info.Env(), -errno);
  // memcpy: `out` may be any view, at any (unaligned) byte offset.
  double d[2] = {LimitToJs(rl.rlim_cur), LimitToJs(rl.rlim_max)};
  memcpy(out, d, sizeof(d));
  return Result(info.Env(), 0);
}

// A limit: +Infinity (RLIM_INFINITY) or a safe integer >= 0. Casting NaN
// or a negative double to rlim_t would be undefined behaviour.
static bool
ArgLimit(const Napi::CallbackInfo& info, size_t i, rlim_t* out) {
  if (info[i].IsNumber() &&
      info[i].As<Napi::Number>().DoubleValue() == INFINITY) {
    *out = RLIM_INFINITY;
    return true;
  }
  int64_t n;
  if (!ArgIntRange(info, i, 0, INT64_C(9007199254740991), &n)) return false;
  *out = static_cast<rlim_t>(n);
  return true;
}

// setrlimit(resource, soft, hard): Infinity means RLIM_INFINITY.
static Napi::Value
Setrlimit(const Napi::CallbackInfo& info) {
  int32_t resource;
  rlimit rl;
  if (!ArgInt32(info, 0, &resource) || !ArgLimit(info, 1, &rl.rlim_cur) ||
      !ArgLimit(info, 2, &rl.rlim_max))
    return Napi::Value();
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
