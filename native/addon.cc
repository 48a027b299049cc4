// The addon's entry point: per-environment state, the shared argument
// decoders, and one Init call per mode. Node-API modules are context-aware:
// this runs once per environment (main thread and every Worker), and nothing
// here is static, so each thread gets its own instance.
#include "addon.h"
#include "inflight.h"

#include <dlfcn.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>

namespace iomodes {

static void
ThrowWithCode(Napi::Error e, const char* code) {
  // While a Worker terminates no error can be made: drop it (the call
  // returns undefined into JS that will not run any more).
  if (e.IsEmpty()) return;
  e.Set("code", Napi::String::New(e.Env(), code));
  e.ThrowAsJavaScriptException();
}

void
ThrowTypeError(Napi::Env env, const char* message) {
  ThrowWithCode(Napi::TypeError::New(env, message), "ERR_INVALID_ARG_TYPE");
}

void
ThrowRangeError(Napi::Env env, const char* message) {
  ThrowWithCode(Napi::RangeError::New(env, message), "ERR_OUT_OF_RANGE");
}

void
ThrowValueError(Napi::Env env, const char* message) {
  ThrowWithCode(Napi::TypeError::New(env, message), "ERR_INVALID_ARG_VALUE");
}

// "argument 2 must be ...": native code does not know the TS names, so it
// names the position.
static void
ThrowArg(void (*thrower)(Napi::Env, const char*),
         const Napi::CallbackInfo& info,
         size_t i,
         const char* what) {
  char message[160];
  snprintf(message, sizeof(message), "argument %zu must be %s", i, what);
  thrower(info.Env(), message);
}

// The one integer decoder the others narrow: a number that is an integer
// in [min, max], or (when `bigint`) a BigInt that fits an int64 in range.
static bool
ArgInteger(const Napi::CallbackInfo& info,
           size_t i,
           int64_t min,
           int64_t max,
           bool bigint,
           const char* what,
           int64_t* out) {
  napi_env env = info.Env();
  napi_value v = info[i];
  napi_valuetype type;
  if (napi_typeof(env, v, &type) != napi_ok) return false;
  // A null `what` is the range itself, written out only for an error: not
  // on every call of a hot path.
  char range[96];
  auto expected = [&]() {
    if (what != nullptr) return what;
    snprintf(range, sizeof(range), "an integer >= %lld && <= %lld",
             static_cast<long long>(min), static_cast<long long>(max));
    return static_cast<const char*>(range);
  };
  if (type == napi_number) {
    double d;
    napi_get_value_double(env, v, &d);
    // Compared as doubles before any cast: casting NaN, Infinity or an
    // out-of-range double to an integer is undefined behaviour.
    if (std::isfinite(d) && std::trunc(d) == d && d >= static_cast<double>(min) &&
        d <= static_cast<double>(max) && std::fabs(d) <= 9007199254740991.0) {
      *out = static_cast<int64_t>(d);
      return true;
    }
    ThrowArg(ThrowRangeError, info, i, expected());
    return false;
  }
  if (bigint && type == napi_bigint) {
    bool lossless;
    int64_t n;
    napi_get_value_bigint_int64(env, v, &n, &lossless);
    if (lossless && n >= min && n <= max) {
      *out = n;
      return true;
    }
    ThrowArg(ThrowRangeError, info, i, expected());
    return false;
  }
  ThrowArg(ThrowTypeError, info, i, expected());
  return false;
}

bool
ArgInt32(const Napi::CallbackInfo& info, size_t i, int32_t* out) {
  int64_t n;
  if (!ArgInteger(info, i, INT32_MIN, INT32_MAX, false,
                  "an integer >= -2147483648 && <= 2147483647", &n))
    return false;
  *out = static_cast<int32_t>(n);
  return true;
}

bool
ArgBool(const Napi::CallbackInfo& info, size_t i, bool* out) {
  // Plain Node-API, not Napi::Value::ToBoolean(): that one, refused while a
  // Worker terminates, hands back an empty value whose conversion to bool
  // is a fatal error for the whole process.
  napi_value coerced;
  return napi_coerce_to_bool(info.Env(), info[i], &coerced) == napi_ok &&
         napi_get_value_bool(info.Env(), coerced, out) == napi_ok;
}

bool
ArgUint32(const Napi::CallbackInfo& info, size_t i, uint32_t* out) {
  int64_t n;
  if (!ArgInteger(info, i, 0, UINT32_MAX, false,
                  "an integer >= 0 && <= 4294967295", &n))
    return false;
  *out = static_cast<uint32_t>(n);
  return true;
}

bool
ArgInt64(const Napi::CallbackInfo& info, size_t i, int64_t* out) {
  return ArgInteger(info, i, INT64_MIN, INT64_MAX, true,
                    "a safe integer or a bigint that fits 64 bits", out);
}

bool
ArgIntRange(const Napi::CallbackInfo& info,
            size_t i,
            int64_t min,
            int64_t max,
            int64_t* out) {
  return ArgInteger(info, i, min, max, true, nullptr, out);
}

bool
ArgString(const Napi::CallbackInfo& info, size_t i, std::string* out) {
  if (!info[i].IsString()) {
    ThrowArg(ThrowTypeError, info, i, "a string");
    return false;
  }
  *out = info[i].As<Napi::String>().Utf8Value();
  return true;
}

bool
ArgPath(const Napi::CallbackInfo& info, size_t i, std::string* out) {
  if (!ArgString(info, i, out)) return false;
  if (out->find('\0') != std::string::npos) {
    ThrowArg(ThrowValueError, info, i, "a string without null bytes");
    return false;
  }
  return true;
}

// Bytes per element, or 0 for a type this build does not know: a newer
// Node may add types (Float16Array is napi_float16_array, 11, on Node 24),
// and guessing 1 would misstate the view's length.
static size_t
ElementSize(napi_typedarray_type type) {
  switch (static_cast<int>(type)) {
    case napi_int8_array:
    case napi_uint8_array:
    case napi_uint8_clamped_array:
      return 1;
    case napi_int16_array:
    case napi_uint16_array:
    case 11:  // napi_float16_array (Node 24+)
      return 2;
    case napi_int32_array:
    case napi_uint32_array:
    case napi_float32_array:
      return 4;
    case napi_float64_array:
    case napi_bigint64_array:
    case napi_biguint64_array:
      return 8;
    default:
      return 0;
  }
}

int
ViewBytes(napi_env env, napi_value v, uint8_t** data, size_t* len) {
  bool is;
  void* p = nullptr;
  if (napi_is_typedarray(env, v, &is) == napi_ok && is) {
    napi_typedarray_type type;
    size_t count;
    napi_get_typedarray_info(env, v, &type, &count, &p, nullptr, nullptr);
    size_t size = ElementSize(type);
    if (size == 0) return -1;
    *data = static_cast<uint8_t*>(p);
    *len = count * size;
    return 1;
  }
  if (napi_is_dataview(env, v, &is) == napi_ok && is) {
    napi_get_dataview_info(env, v, len, &p, nullptr, nullptr);
    *data = static_cast<uint8_t*>(p);
    return 1;
  }
  if (napi_is_arraybuffer(env, v, &is) == napi_ok && is) {
    napi_get_arraybuffer_info(env, v, &p, len);
    *data = static_cast<uint8_t*>(p);
    return 1;
  }
  return 0;
}

bool
ArgBytes(const Napi::CallbackInfo& info, size_t i, uint8_t** data, size_t* len) {
  int r = ViewBytes(info.Env(), info[i], data, len);
  if (r == 1) return true;
  ThrowArg(ThrowTypeError, info, i,
           r < 0 ? "a TypedArray of a known element type"
                 : "an ArrayBufferView or ArrayBuffer");
  return false;
}

bool
ArgByteRange(const Napi::CallbackInfo& info,
             size_t i,
             uint8_t** data,
             size_t* len) {
  uint8_t* base;
  size_t size;
  int64_t off, n;
  // The two integers first: decoding them runs no JS, and the view's
  // length is read last, just before the syscall.
  if (!ArgInt64(info, i + 1, &off) || !ArgInt64(info, i + 2, &n) ||
      !ArgBytes(info, i, &base, &size))
    return false;
  // Overflow-safe: both are checked non-negative before any addition.
  if (off < 0 || n < 0 || static_cast<uint64_t>(off) > size ||
      static_cast<uint64_t>(n) > size - static_cast<uint64_t>(off)) {
    ThrowRangeError(info.Env(), "offset and length must lie inside the buffer");
    return false;
  }
  *data = base + off;
  *len = static_cast<size_t>(n);
  return true;
}

bool
ArgOut(const Napi::CallbackInfo& info, size_t i, size_t size, uint8_t** data) {
  size_t len;
  if (!ArgBytes(info, i, data, &len)) return false;
  if (len < size) {
    char what[64];
    snprintf(what, sizeof(what), "at least %zu bytes long", size);
    ThrowArg(ThrowRangeError, info, i, what);
    return false;
  }
  return true;
}

// debug_counters() -> { watchers, ownedFds, pinnedOps, leakedOnTeardown }:
// this environment's open native resources, for leak checks, and the
// process-wide count of bounce buffers teardown leaked on purpose.
static Napi::Value
DebugCounters(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  AddonData* data = GetAddonData(env);
  o.Set("watchers", Napi::Number::New(env, data ? data->open_watchers : 0));
  o.Set("ownedFds",
        Napi::Number::New(env, data ? data->owned_fds.size() : 0));
  o.Set("pinnedOps", Napi::Number::New(env, data ? data->pinned_ops : 0));
  o.Set("leakedOnTeardown",
        Napi::Number::New(env, static_cast<double>(g_leaked_on_teardown)));
  return o;
}

// debug_leak_check() -> 0 | 1 | -ENOSYS: runs LeakSanitizer now, if the
// process has it (the ASan runtime preloaded), and says whether it found a
// leak; its report goes where ASAN_OPTIONS sends it. For scripts/test-lsan.sh:
// vitest ends its worker processes with a signal, so LSan's own check at
// exit never runs there.
static Napi::Value
DebugLeakCheck(const Napi::CallbackInfo& info) {
  using Check = int (*)();
  auto check = reinterpret_cast<Check>(dlsym(RTLD_DEFAULT, "__lsan_do_recoverable_leak_check"));
  return Napi::Number::New(info.Env(), check ? check() : -ENOSYS);
}

// At environment teardown: the receiver cache's references are ours to
// delete (Node-API frees only its own). Registered first, so it runs after
// every native object's own teardown hook.
static void
ReleaseSelfCache(void* arg) {
  auto* data = static_cast<AddonData*>(arg);
  for (SelfCacheEntry& e : data->self_cache) {
    if (e.ref != nullptr) napi_delete_reference(data->env, e.ref);
    e = SelfCacheEntry{};
  }
}

Napi::Object
Init(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  data->env = env;
  env.SetInstanceData(data);
  napi_add_env_cleanup_hook(env, ReleaseSelfCache, data);
  Napi::Object constants = Napi::Object::New(env);
  exports.Set("constants", constants);
  Export(exports, "debug_counters", DebugCounters);
  Export(exports, "debug_leak_check", DebugLeakCheck);
  InitFd(env, exports, constants);
  InitBlocking(env, exports, constants);
  InitNonblocking(env, exports, constants);
  InitSystem(env, exports, constants);
  InitMultiplex(env, exports, constants);
  InitWatcher(env, exports, constants);
  InitSignal(env, exports, constants);
  InitAsync(env, exports, constants);
  InitUring(env, exports, constants);
  InitAio(env, exports, constants);
  InitDirect(env, exports, constants);
  InitThreadpool(env, exports, constants);
  InitPosixAio(env, exports, constants);
  return exports;
}

}  // namespace iomodes

static Napi::Object
InitAddon(Napi::Env env, Napi::Object exports) {
  return iomodes::Init(env, exports);
}

NODE_API_MODULE(iomodes, InitAddon)
