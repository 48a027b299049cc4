// Shared helpers for the native bindings: argument decoding and the -errno
// convention. Every binding is one syscall (or one tight loop of them); all
// policy lives in TypeScript, which validates before calling in. The checks
// here are the last line of defence: a wrong type becomes a TypeError, an
// out-of-bounds range a RangeError, never a crash.
#pragma once

#include <napi.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>

namespace iomodes {

// Per-environment state (main thread and each Worker): Node deletes it when
// the environment is torn down. Counters here let tests check that every
// native resource an environment opened was closed again.
struct AddonData {
  uint32_t open_watchers = 0;
};

inline AddonData*
GetAddonData(napi_env env) {
  void* data = nullptr;
  napi_get_instance_data(env, &data);
  return static_cast<AddonData*>(data);
}

// A syscall result as it crosses into JS: the value, or -errno on failure.
#define IOMODES_ERRNO(expr) \
  ({                        \
    long r_ = (long)(expr); \
    r_ == -1 ? -errno : r_; \
  })

// The same, retrying EINTR: for calls that are safe to restart (not close()).
#define IOMODES_RETRY(expr)                   \
  ({                                          \
    long r_;                                  \
    do {                                      \
      r_ = (long)(expr);                      \
    } while (r_ == -1 && errno == EINTR);     \
    r_ == -1 ? -errno : r_;                   \
  })

inline Napi::Value
Result(Napi::Env env, long r) {
  return Napi::Number::New(env, static_cast<double>(r));
}

// Argument decoders: on a wrong type they leave a pending TypeError and
// return false; the caller then returns undefined.
bool
ArgInt32(const Napi::CallbackInfo& info, size_t i, int32_t* out);
bool
ArgUint32(const Napi::CallbackInfo& info, size_t i, uint32_t* out);
bool
ArgInt64(const Napi::CallbackInfo& info, size_t i, int64_t* out);
bool
ArgString(const Napi::CallbackInfo& info, size_t i, std::string* out);
// Any ArrayBufferView or ArrayBuffer, as a byte range.
bool
ArgBytes(const Napi::CallbackInfo& info, size_t i, uint8_t** data, size_t* len);
// Bytes at info[i], narrowed by the (offset, length) pair at i+1, i+2,
// checked against the view's live byteLength.
bool
ArgByteRange(const Napi::CallbackInfo& info,
             size_t i,
             uint8_t** data,
             size_t* len);

void
ThrowTypeError(Napi::Env env, const char* message);
void
ThrowRangeError(Napi::Env env, const char* message);

// Sets exports[name] = fn.
inline void
Export(Napi::Object exports, const char* name, Napi::Function::Callback fn) {
  exports.Set(name, Napi::Function::New(exports.Env(), fn, name));
}

// One Init per mode; addon.cc calls each. `constants` is the shared
// `binding.constants` object each mode adds its kernel numbers to, so no
// kernel value is ever hard-coded in TypeScript.
void
InitFd(Napi::Env env, Napi::Object exports, Napi::Object constants);
void
InitBlocking(Napi::Env env, Napi::Object exports, Napi::Object constants);
void
InitNonblocking(Napi::Env env, Napi::Object exports, Napi::Object constants);
void
InitSystem(Napi::Env env, Napi::Object exports, Napi::Object constants);
void
InitMultiplex(Napi::Env env, Napi::Object exports, Napi::Object constants);
void
InitWatcher(Napi::Env env, Napi::Object exports, Napi::Object constants);
void
InitSignal(Napi::Env env, Napi::Object exports, Napi::Object constants);
void
InitAsync(Napi::Env env, Napi::Object exports, Napi::Object constants);
void
InitDirect(Napi::Env env, Napi::Object exports, Napi::Object constants);

}  // namespace iomodes
