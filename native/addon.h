// Shared helpers for the native bindings: argument decoding, owned fds and
// the -errno convention. Every binding is one syscall (or one tight loop of
// them); all policy lives in TypeScript, which validates before calling in.
//
// Rules for every binding (CONTRIBUTING.md says the same at more length):
//
// 1. The native layer is safe on its own. It never assumes the TypeScript
//    checks ran: every argument goes through a decoder below, which rejects
//    what the syscall cannot represent -- a non-integer, NaN, +-Infinity, a
//    number that would wrap (2**32 + 1 is not 1), a string with an embedded
//    NUL -- with a TypeError or RangeError that carries a Node-style `code`.
//    No hostile value may crash the process or reach the kernel changed.
// 2. JS memory is read once. First collect every JS value (arguments, array
//    elements, options): that may run getters, which may detach or resize
//    buffers. Then take the pointers, then make the syscall, with nothing in
//    between that can run JS. A JS-visible value that was checked is never
//    read again: copy it into native memory (select's fd lists).
// 3. Results cross as numbers: r >= 0, or -errno. Native throws only for
//    arguments the TypeScript layer should have rejected.
// 4. Every resource closes exactly once, also at environment (Worker)
//    teardown: fds an object owns are registered with OwnFd, libuv handles
//    take an async cleanup hook (watcher.cc).
// 5. Memory the kernel uses after the call returns (io_uring, AIO) must be
//    pinned until its completion is reaped; rule 2 alone is not enough there.
#pragma once

#include <napi.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>

namespace iomodes {

// A receiver that passed Wrap<T>::Self's check, remembered by a weak
// reference with its native object and its class's type tag.
struct SelfCacheEntry {
  const napi_type_tag* tag = nullptr;
  napi_ref ref = nullptr;
  void* ptr = nullptr;
};

// Per-environment state (main thread and each Worker): Node deletes it when
// the environment is torn down. Counters here let tests check that every
// native resource an environment opened was closed again.
struct AddonData {
  napi_env env = nullptr;
  // Receivers of native class methods that passed their check (wrap.h),
  // replaced in turn.
  SelfCacheEntry self_cache[8];
  unsigned self_cache_next = 0;
  uint32_t open_watchers = 0;
  // Operations whose buffers are pinned (inflight.h): submitted, not reaped.
  uint32_t pinned_ops = 0;
  // fd -> generation, for fds an iomodes object owns (an Epoll's fd):
  // closed by their owner, or by the env cleanup hook at teardown.
  std::unordered_map<int, double> owned_fds;
  double next_generation = 1;
};

inline AddonData*
GetAddonData(napi_env env) {
  void* data = nullptr;
  napi_get_instance_data(env, &data);
  return static_cast<AddonData*>(data);
}

// Whether `fd` is owned by an iomodes object of this environment: a plain
// close() of it is refused (-EBUSY), so its owner never closes it twice.
bool
IsOwnedFd(napi_env env, int fd);

// Makes `fd` owned by this environment under a new generation (> 0), which
// it returns; 0 if the environment has no instance data. Teardown closes
// what its owner left open.
double
OwnFd(napi_env env, int fd);

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

// Argument decoders. Each reads info[i] once; on bad input it leaves a
// pending exception with a `code` and returns false, and the binding then
// returns undefined without making its syscall.
//
// Integers: a number that is an integer inside the type's range (-0 is 0);
// the 64-bit decoders also take a BigInt that fits. A non-number is a
// TypeError (ERR_INVALID_ARG_TYPE); NaN, +-Infinity, a fraction or a value
// out of range a RangeError (ERR_OUT_OF_RANGE).
bool
ArgInt32(const Napi::CallbackInfo& info, size_t i, int32_t* out);
// A flag: info[i]'s truthiness (coercion to boolean runs no JavaScript).
// False with nothing thrown only while the environment is terminating (a
// Worker being stopped), when Node-API refuses every call: the binding then
// returns undefined into JS that will not run any more.
bool
ArgBool(const Napi::CallbackInfo& info, size_t i, bool* out);
bool
ArgUint32(const Napi::CallbackInfo& info, size_t i, uint32_t* out);
// Numbers must be safe integers (|n| <= 2**53 - 1): beyond, a double no
// longer names one integer.
bool
ArgInt64(const Napi::CallbackInfo& info, size_t i, int64_t* out);
bool
ArgIntRange(const Napi::CallbackInfo& info,
            size_t i,
            int64_t min,
            int64_t max,
            int64_t* out);
// A string, embedded NULs and all (abstract Unix socket names hold them).
bool
ArgString(const Napi::CallbackInfo& info, size_t i, std::string* out);
// A path: a string with no NUL, which the kernel would cut it at
// (TypeError ERR_INVALID_ARG_VALUE).
bool
ArgPath(const Napi::CallbackInfo& info, size_t i, std::string* out);
// The bytes of a value, without throwing: 1 for a view or ArrayBuffer, 0
// for anything else, -1 for a TypedArray of an element type this build does
// not know. A detached buffer is 0 bytes long.
int
ViewBytes(napi_env env, napi_value v, uint8_t** data, size_t* len);
// Any ArrayBufferView or ArrayBuffer, as a byte range. A detached buffer
// (or a view out of bounds of a shrunk resizable one) is 0 bytes long.
bool
ArgBytes(const Napi::CallbackInfo& info, size_t i, uint8_t** data, size_t* len);
// Bytes at info[i], narrowed by the (offset, length) pair at i+1, i+2,
// checked against the view's live byteLength.
bool
ArgByteRange(const Napi::CallbackInfo& info,
             size_t i,
             uint8_t** data,
             size_t* len);
// An out-parameter: bytes at info[i], at least `size` of them.
bool
ArgOut(const Napi::CallbackInfo& info, size_t i, size_t size, uint8_t** data);

// A sockaddr from info[i..i+2] = (family, host|path, port). Sets *err to 0,
// or -EINVAL/-ENAMETOOLONG/-EAFNOSUPPORT for an address the kernel cannot
// take; returns false via a pending TypeError or RangeError.
bool
ArgSockaddr(const Napi::CallbackInfo& info,
            size_t i,
            struct sockaddr_storage* ss,
            unsigned* len,
            long* err);

void
ThrowTypeError(Napi::Env env, const char* message);
void
ThrowRangeError(Napi::Env env, const char* message);
// TypeError with ERR_INVALID_ARG_VALUE: the right type, a wrong value.
void
ThrowValueError(Napi::Env env, const char* message);

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
InitUring(Napi::Env env, Napi::Object exports, Napi::Object constants);
void
InitAio(Napi::Env env, Napi::Object exports, Napi::Object constants);
void
InitDirect(Napi::Env env, Napi::Object exports, Napi::Object constants);
void
InitThreadpool(Napi::Env env, Napi::Object exports, Napi::Object constants);
void
InitPosixAio(Napi::Env env, Napi::Object exports, Napi::Object constants);

}  // namespace iomodes
