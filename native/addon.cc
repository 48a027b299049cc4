// The addon's entry point: per-environment state, the shared argument
// decoders, and one Init call per mode. Node-API modules are context-aware:
// this runs once per environment (main thread and every Worker), and nothing
// here is static, so each thread gets its own instance.
#include "addon.h"

#include <string>

namespace iomodes {

void
ThrowTypeError(Napi::Env env, const char* message) {
  Napi::Error e = Napi::TypeError::New(env, message);
  e.Set("code", Napi::String::New(env, "ERR_INVALID_ARG_TYPE"));
  e.ThrowAsJavaScriptException();
}

void
ThrowRangeError(Napi::Env env, const char* message) {
  Napi::Error e = Napi::RangeError::New(env, message);
  e.Set("code", Napi::String::New(env, "ERR_OUT_OF_RANGE"));
  e.ThrowAsJavaScriptException();
}

bool
ArgInt32(const Napi::CallbackInfo& info, size_t i, int32_t* out) {
  if (napi_get_value_int32(info.Env(), info[i], out) == napi_ok) return true;
  ThrowTypeError(info.Env(), "expected a number");
  return false;
}

bool
ArgUint32(const Napi::CallbackInfo& info, size_t i, uint32_t* out) {
  if (napi_get_value_uint32(info.Env(), info[i], out) == napi_ok) return true;
  ThrowTypeError(info.Env(), "expected a number");
  return false;
}

bool
ArgInt64(const Napi::CallbackInfo& info, size_t i, int64_t* out) {
  bool lossless;
  if (napi_get_value_int64(info.Env(), info[i], out) == napi_ok) return true;
  if (napi_get_value_bigint_int64(info.Env(), info[i], out, &lossless) ==
          napi_ok &&
      lossless)
    return true;
  ThrowTypeError(info.Env(), "expected a number or bigint");
  return false;
}

bool
ArgString(const Napi::CallbackInfo& info, size_t i, std::string* out) {
  if (!info[i].IsString()) {
    ThrowTypeError(info.Env(), "expected a string");
    return false;
  }
  *out = info[i].As<Napi::String>().Utf8Value();
  return true;
}

bool
ArgBytes(const Napi::CallbackInfo& info, size_t i, uint8_t** data, size_t* len) {
  napi_env env = info.Env();
  napi_value v = info[i];
  napi_typedarray_type type;
  size_t count;
  void* p;
  napi_value ab;
  size_t offset;
  if (napi_get_typedarray_info(env, v, &type, &count, &p, &ab, &offset) ==
      napi_ok) {
    size_t size = 1;
    switch (type) {
      case napi_int16_array:
      case napi_uint16_array:
        size = 2;
        break;
      case napi_int32_array:
      case napi_uint32_array:
      case napi_float32_array:
        size = 4;
        break;
      case napi_float64_array:
      case napi_bigint64_array:
      case napi_biguint64_array:
        size = 8;
        break;
      default:
        break;
    }
    *data = static_cast<uint8_t*>(p);
    *len = count * size;
    return true;
  }
  if (napi_get_dataview_info(env, v, len, &p, &ab, &offset) == napi_ok) {
    *data = static_cast<uint8_t*>(p);
    return true;
  }
  if (napi_get_arraybuffer_info(env, v, &p, len) == napi_ok) {
    *data = static_cast<uint8_t*>(p);
    return true;
  }
  ThrowTypeError(info.Env(), "expected an ArrayBufferView or ArrayBuffer");
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
  if (!ArgBytes(info, i, &base, &size) || !ArgInt64(info, i + 1, &off) ||
      !ArgInt64(info, i + 2, &n))
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

// debug_counters() -> { watchers }: this environment's open native
// resources, for leak checks.
static Napi::Value
DebugCounters(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  AddonData* data = GetAddonData(info.Env());
  o.Set("watchers", Napi::Number::New(info.Env(), data ? data->open_watchers : 0));
  return o;
}

Napi::Object
Init(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData(new AddonData());
  Napi::Object constants = Napi::Object::New(env);
  exports.Set("constants", constants);
  Export(exports, "debug_counters", DebugCounters);
  InitFd(env, exports, constants);
  InitBlocking(env, exports, constants);
  InitNonblocking(env, exports, constants);
  InitSystem(env, exports, constants);
  InitMultiplex(env, exports, constants);
  InitWatcher(env, exports, constants);
  InitSignal(env, exports, constants);
  InitAsync(env, exports, constants);
  InitDirect(env, exports, constants);
  return exports;
}

}  // namespace iomodes

static Napi::Object
InitAddon(Napi::Env env, Napi::Object exports) {
  return iomodes::Init(env, exports);
}

NODE_API_MODULE(iomodes, InitAddon)
