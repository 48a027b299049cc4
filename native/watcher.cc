// The watcher: a uv_poll_t on an fd, the one native async mechanism. The
// epoll fd, an io_uring completion eventfd, an AIO eventfd and the signal
// self-pipe are all just fds handed to a Watcher, which calls back into JS
// on the loop of the thread that made it (never uv_default_loop()).
//
// Lifetime rules (reliability anchors P4-P6, P13):
// - The uv_poll_t lives in its own allocation, freed only in the close
//   callback, so libuv never touches freed memory.
// - An open watcher holds a strong reference to its own JS object: an active
//   handle is a GC root, as a Node handle is. It is released in the close
//   callback, so the finalizer never runs while libuv still owns the handle.
// - An async env cleanup hook closes a still-open watcher at environment
//   teardown (Worker exit); it is removed when the handle is closed. Node
//   keeps running the loop until the hook is removed, so the close callback
//   runs while the env is still alive.
// - The finalizer frees memory only: it never calls into libuv.
#include <uv.h>

#include "addon.h"

namespace iomodes {

namespace {

class Watcher;

struct PollHandle {
  uv_poll_t poll;
  Watcher* owner;  // null once the wrapper is gone
};

class Watcher : public Napi::ObjectWrap<Watcher> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(
        env, "Watcher",
        {
            InstanceMethod<&Watcher::Open>("open"),
            InstanceMethod<&Watcher::Start>("start"),
            InstanceMethod<&Watcher::Stop>("stop"),
            InstanceMethod<&Watcher::Ref>("ref"),
            InstanceMethod<&Watcher::Unref>("unref"),
            InstanceMethod<&Watcher::HasRef>("hasRef"),
            InstanceMethod<&Watcher::Close>("close"),
            InstanceAccessor<&Watcher::GetFd>("fd"),
            InstanceAccessor<&Watcher::GetActive>("active"),
            InstanceAccessor<&Watcher::GetClosed>("closed"),
        });
  }

  // new Watcher(callback): callback(status, events) is registered once and
  // called with MakeCallback semantics (async context, microtasks drained).
  explicit Watcher(const Napi::CallbackInfo& info)
      : Napi::ObjectWrap<Watcher>(info), env_(info.Env()) {
    if (!info[0].IsFunction()) {
      ThrowTypeError(info.Env(), "expected a callback function");
      return;
    }
    callback_ = Napi::Persistent(info[0].As<Napi::Function>());
  }

  ~Watcher() override {
    // Only reachable once closed (the open watcher holds itself), except
    // when the env is torn down without the cleanup hook having run: then
    // leak the handle rather than let libuv call into freed memory.
    if (handle_ != nullptr) handle_->owner = nullptr;
  }

 private:
  enum State { kNew, kOpen, kClosing, kClosed };

  // open(fd) -> 0 | -errno: uv_poll_init on this thread's loop. The fd is
  // made non-blocking by libuv; a regular file gives -EPERM, an fd already
  // watched on this loop -EEXIST.
  Napi::Value Open(const Napi::CallbackInfo& info) {
    int32_t fd;
    if (!ArgInt32(info, 0, &fd)) return Napi::Value();
    if (state_ != kNew)
      return Result(info.Env(), state_ == kOpen ? -EALREADY : -EBADF);
    uv_loop_t* loop;
    if (napi_get_uv_event_loop(env_, &loop) != napi_ok)
      return Result(info.Env(), -EINVAL);
    auto* h = new PollHandle();
    int r = uv_poll_init(loop, &h->poll, fd);
    if (r < 0) {
      delete h;
      return Result(info.Env(), r);
    }
    h->owner = this;
    h->poll.data = h;
    handle_ = h;
    if (AddonData* data = GetAddonData(env_)) data->open_watchers++;
    fd_ = fd;
    state_ = kOpen;
    self_ = Napi::Persistent(Value());
    napi_value name = Napi::String::New(env_, "iomodes:Watcher");
    if (napi_async_init(env_, Value(), name, &context_) != napi_ok)
      context_ = nullptr;
    if (napi_add_async_cleanup_hook(env_, OnTeardown, this, &hook_) != napi_ok)
      hook_ = nullptr;
    return Result(info.Env(), 0);
  }

  // start(events) -> 0 | -errno, events a mask of UV_READABLE, UV_WRITABLE,
  // UV_DISCONNECT, UV_PRIORITIZED. Starting again changes the mask.
  Napi::Value Start(const Napi::CallbackInfo& info) {
    uint32_t events;
    if (!ArgUint32(info, 0, &events)) return Napi::Value();
    if (state_ != kOpen) return Result(info.Env(), -EBADF);
    const uint32_t known =
        UV_READABLE | UV_WRITABLE | UV_DISCONNECT | UV_PRIORITIZED;
    if (events & ~known) return Result(info.Env(), -EINVAL);
    return Result(info.Env(), uv_poll_start(&handle_->poll,
                                            static_cast<int>(events), OnPoll));
  }

  Napi::Value Stop(const Napi::CallbackInfo& info) {
    if (state_ != kOpen) return Result(info.Env(), -EBADF);
    return Result(info.Env(), uv_poll_stop(&handle_->poll));
  }

  Napi::Value Ref(const Napi::CallbackInfo& info) {
    if (state_ != kOpen) return Result(info.Env(), -EBADF);
    uv_ref(reinterpret_cast<uv_handle_t*>(&handle_->poll));
    return Result(info.Env(), 0);
  }

  Napi::Value Unref(const Napi::CallbackInfo& info) {
    if (state_ != kOpen) return Result(info.Env(), -EBADF);
    uv_unref(reinterpret_cast<uv_handle_t*>(&handle_->poll));
    return Result(info.Env(), 0);
  }

  Napi::Value HasRef(const Napi::CallbackInfo& info) {
    bool has = state_ == kOpen &&
               uv_has_ref(reinterpret_cast<uv_handle_t*>(&handle_->poll));
    return Napi::Boolean::New(info.Env(), has);
  }

  // close() -> 0, idempotent. Safe from inside the watcher's own callback:
  // uv_close defers the free to the close callback, after dispatch returns.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (state_ == kNew) {
      state_ = kClosed;
      callback_.Reset();
    } else if (state_ == kOpen) {
      BeginClose();
    }
    return Result(info.Env(), 0);
  }

  Napi::Value GetFd(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), state_ == kOpen ? fd_ : -1);
  }

  Napi::Value GetActive(const Napi::CallbackInfo& info) {
    bool active = state_ == kOpen &&
                  uv_is_active(reinterpret_cast<uv_handle_t*>(&handle_->poll));
    return Napi::Boolean::New(info.Env(), active);
  }

  Napi::Value GetClosed(const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(),
                              state_ == kClosing || state_ == kClosed);
  }

  void BeginClose() {
    state_ = kClosing;
    // No callback can run after uv_close, so the async context can go now,
    // while JS (or the cleanup hook's context scope) is on the stack.
    if (context_ != nullptr) {
      napi_async_destroy(env_, context_);
      context_ = nullptr;
    }
    uv_close(reinterpret_cast<uv_handle_t*>(&handle_->poll), OnClose);
  }

  static void OnPoll(uv_poll_t* poll, int status, int events) {
    auto* h = static_cast<PollHandle*>(poll->data);
    Watcher* w = h->owner;
    if (w == nullptr || w->state_ != kOpen) return;
    napi_env env = w->env_;
    napi_handle_scope scope;
    if (napi_open_handle_scope(env, &scope) != napi_ok) return;
    napi_value recv = w->self_.Value();
    napi_value fn = w->callback_.Value();
    napi_value argv[2];
    napi_create_int32(env, status, &argv[0]);
    napi_create_int32(env, events, &argv[1]);
    napi_status s =
        napi_make_callback(env, w->context_, recv, fn, 2, argv, nullptr);
    if (s == napi_pending_exception) {
      // No JS frame can catch it: report it as Node reports an exception
      // thrown from any I/O callback ('uncaughtException', or exit).
      napi_value err;
      if (napi_get_and_clear_last_exception(env, &err) == napi_ok)
        napi_fatal_exception(env, err);
    }
    napi_close_handle_scope(env, scope);
  }

  static void OnClose(uv_handle_t* handle) {
    auto* h = static_cast<PollHandle*>(handle->data);
    Watcher* w = h->owner;
    delete h;
    if (w != nullptr) w->Closed();
  }

  // Runs last: the handle is gone; drop the hook and the self-reference
  // (after which the JS object may be collected and `this` deleted).
  void Closed() {
    handle_ = nullptr;
    state_ = kClosed;
    if (AddonData* data = GetAddonData(env_)) data->open_watchers--;
    if (hook_ != nullptr) {
      napi_remove_async_cleanup_hook(hook_);
      hook_ = nullptr;
    }
    callback_.Reset();
    self_.Reset();
  }

  static void OnTeardown(napi_async_cleanup_hook_handle, void* arg) {
    auto* w = static_cast<Watcher*>(arg);
    if (w->state_ == kOpen) w->BeginClose();
  }

  napi_env env_;
  Napi::FunctionReference callback_;
  Napi::ObjectReference self_;
  napi_async_context context_ = nullptr;
  napi_async_cleanup_hook_handle hook_ = nullptr;
  PollHandle* handle_ = nullptr;
  int32_t fd_ = -1;
  State state_ = kNew;
};

}  // namespace

void
InitWatcher(Napi::Env env, Napi::Object exports, Napi::Object constants) {
  exports.Set("Watcher", Watcher::Define(env));

#define C(name) constants.Set(#name, Napi::Number::New(env, name))
  C(UV_READABLE); C(UV_WRITABLE); C(UV_DISCONNECT); C(UV_PRIORITIZED);
#undef C
}

}  // namespace iomodes
