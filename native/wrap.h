// Native classes in plain Node-API, for the objects that own kernel
// resources (an io_uring, an AIO context). Not Napi::ObjectWrap: each method
// checks its receiver's type tag itself, so a method called on a foreign
// object throws ERR_INVALID_THIS and the constructor called without `new`
// ERR_CONSTRUCT_CALL_REQUIRED, where node-addon-api throws code-less errors.
//
// T provides:
//   static constexpr const char* kName;           // the JS class name
//   static const napi_type_tag kTag;              // unique per class
//   static T* Create(const Napi::CallbackInfo&);  // null with a pending exception
// and its methods as `Napi::Value M(const Napi::CallbackInfo&)`. The JS
// object owns the T: the finalizer deletes it, so ~T frees memory only and
// never touches the kernel or libuv (close() and the env cleanup hook do).
#pragma once

#include "addon.h"

namespace iomodes {

inline void
ThrowCode(napi_env env, const char* code, const char* message) {
  Napi::Error e = Napi::TypeError::New(env, message);
  e.Set("code", Napi::String::New(env, code));
  e.ThrowAsJavaScriptException();
}

template <typename T>
class Wrap {
 public:
  using MethodFn = Napi::Value (T::*)(const Napi::CallbackInfo&);

  template <MethodFn M>
  static napi_property_descriptor Method(const char* name) {
    return {name, nullptr, Call<M>, nullptr, nullptr, nullptr, napi_default,
            nullptr};
  }

  template <MethodFn M>
  static napi_property_descriptor Getter(const char* name) {
    return {name, nullptr, nullptr, Call<M>, nullptr, nullptr, napi_default,
            nullptr};
  }

  // The class, its methods on the prototype (napi_define_properties, not
  // napi_define_class: class methods carry a V8 signature, whose "Illegal
  // invocation" for a foreign receiver has no code).
  template <size_t N>
  static Napi::Value Define(napi_env env, const napi_property_descriptor (&props)[N]) {
    napi_value cls, proto;
    napi_define_class(env, T::kName, NAPI_AUTO_LENGTH, New, nullptr, 0,
                      nullptr, &cls);
    napi_get_named_property(env, cls, "prototype", &proto);
    napi_define_properties(env, proto, N, props);
    return Napi::Value(env, cls);
  }

  // The receiver, if it is a T; else ERR_INVALID_THIS. While the
  // environment is terminating (a Worker being torn down), Node-API refuses
  // the tag check (napi_pending_exception / napi_cannot_run_js) and would
  // refuse the throw too, which node-addon-api turns into a fatal error:
  // then the call is dropped silently (reliability anchors P6).
  //
  // The check (two private-symbol lookups: the tag, the wrap) is most of
  // a method call's cost, so the receivers that passed it are remembered
  // (AddonData::self_cache): the same object again is found by identity.
  // A weak reference reads null once its object is collected, and the T
  // is deleted only then, so a hit always names a live T.
  static T* Self(const Napi::CallbackInfo& info) {
    napi_env env = info.Env();
    napi_value self = info.This();
    AddonData* data = GetAddonData(env);
    if (data != nullptr) {
      for (const SelfCacheEntry& e : data->self_cache) {
        if (e.tag != &T::kTag) continue;
        napi_value v = nullptr;
        bool same = false;
        if (napi_get_reference_value(env, e.ref, &v) == napi_ok && v != nullptr &&
            napi_strict_equals(env, v, self, &same) == napi_ok && same)
          return static_cast<T*>(e.ptr);
      }
    }
    bool tagged = false;
    void* p = nullptr;
    if (info.This().IsObject()) {
      napi_status s = napi_check_object_type_tag(env, self, &T::kTag, &tagged);
      if (s == napi_pending_exception || s == napi_cannot_run_js) return nullptr;
      if (s == napi_ok && tagged && napi_unwrap(env, self, &p) == napi_ok &&
          p != nullptr) {
        Remember(env, data, self, p);
        return static_cast<T*>(p);
      }
    }
    std::string message = std::string("Value of \"this\" must be a ") + T::kName;
    ThrowCode(env, "ERR_INVALID_THIS", message.c_str());
    return nullptr;
  }

 private:
  // Into the cache, over its oldest entry.
  static void Remember(napi_env env, AddonData* data, napi_value self, void* p) {
    if (data == nullptr) return;
    SelfCacheEntry& e = data->self_cache[data->self_cache_next++ % 8];
    if (e.ref != nullptr) napi_delete_reference(env, e.ref);
    e = SelfCacheEntry{};
    napi_ref ref;
    if (napi_create_reference(env, self, 0, &ref) == napi_ok) e = SelfCacheEntry{&T::kTag, ref, p};
  }

  static napi_value New(napi_env env, napi_callback_info cbinfo) {
    Napi::CallbackInfo info(env, cbinfo);
    napi_value target;
    if (napi_get_new_target(env, cbinfo, &target) != napi_ok ||
        target == nullptr) {
      std::string message = std::string("Class constructor ") + T::kName +
                            " cannot be invoked without 'new'";
      ThrowCode(env, "ERR_CONSTRUCT_CALL_REQUIRED", message.c_str());
      return nullptr;
    }
    T* t = T::Create(info);
    if (t == nullptr) return nullptr;
    napi_value self = info.This();
    if (napi_wrap(env, self, t, Finalize, nullptr, nullptr) != napi_ok) {
      delete t;
      return nullptr;
    }
    napi_type_tag_object(env, self, &T::kTag);
    t->Wrapped(env, self);
    return self;
  }

  static void Finalize(napi_env, void* data, void*) {
    delete static_cast<T*>(data);
  }

  template <MethodFn M>
  static napi_value Call(napi_env env, napi_callback_info cbinfo) {
    Napi::CallbackInfo info(env, cbinfo);
    T* t = Self(info);
    if (t == nullptr) return nullptr;
    return (t->*M)(info);
  }
};

}  // namespace iomodes
