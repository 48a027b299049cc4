// The watcher: a uv_poll_t on an fd, the one native async mechanism. The
// epoll fd, an io_uring completion eventfd, an AIO eventfd and the signal
// self-pipe are all just fds handed to a Watcher, which calls back into JS
// on the loop of the thread that made it (never uv_default_loop()).
//
// Lifetime rules (reliability anchors P4-P6, P13):
// - The watcher polls its own duplicate of the fd (F_DUPFD_CLOEXEC), closed
//   only after libuv is done with it. libuv aborts the process if a polled
//   fd is closed under it; with the duplicate, closing the caller's fd (even
//   in the same tick as start()) can no longer reach libuv, and a reused fd
//   number is never confused with the watched one.
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
//
// The class is Wrap<Watcher> (wrap.h), as the other native classes are: a
// method called on a foreign object, or the constructor called without
// `new`, throws a TypeError with a code.
#include <fcntl.h>
#include <unistd.h>
#include <uv.h>

#include "addon.h"
#include "wrap.h"

namespace iomodes {

namespace {

class Watcher;

struct PollHandle {
  uv_poll_t poll;
  int fd;          // the watcher's duplicate; closed in OnClose
  Watcher* owner;  // null once the wrapper is gone
};

class Watcher {
 public:
  static constexpr const char* kName = "Watcher";
  static const napi_type_tag kTag;

  static Napi::Value Define(napi_env env) {
    using W = Wrap<Watcher>;
    static const napi_property_descriptor props[] = {
        W::Method<&Watcher::Open>("open"),
        W::Method<&Watcher::Start>("start"),
        W::Method<&Watcher::Stop>("stop"),
        W::Method<&Watcher::Ref>("ref"),
        W::Method<&Watcher::Unref>("unref"),
        W::Method<&Watcher::HasRef>("hasRef"),
        W::Method<&Watcher::Close>("close"),
        W::Getter<&Watcher::GetFd>("fd"),
        W::Getter<&Watcher::GetActive>("active"),
        W::Getter<&Watcher::GetClosed>("closed"),
    };
    return W::Define(env, props);
  }

  // new Watcher(callback): callback(status, events) is registered once and
  // called with MakeCallback semantics (async context, microtasks drained).
  static Watcher* Create(const Napi::CallbackInfo& info) {
    if (!info[0].IsFunction()) {
      ThrowTypeError(info.Env(), "argument 0 must be a callback function");
      return nullptr;
    }
    auto* w = new Watcher(info.Env());
    napi_create_reference(info.Env(), info[0], 1, &w->callback_);
    return w;
  }

  void Wrapped(napi_env, napi_value) {}

  ~Watcher() {
    // Only reachable once closed (the open watcher holds itself), except
    // when the env is torn down without the cleanup hook having run: then
    // leak the handle rather than let libuv call into freed memory.
    if (handle_ != nullptr) handle_->owner = nullptr;
    DropCallback();
  }

 private:
  enum State { kNew, kOpen, kClosing, kClosed };

  explicit Watcher(napi_env env) : env_(env) {}

  // The callback closes over the JS wrapper, which holds this object: keep
  // the strong reference only while the watcher can still call back, or the
  // cycle would never be collected.
  void DropCallback() {
    if (callback_ != nullptr) napi_delete_reference(env_, callback_);
    callback_ = nullptr;
  }

  // open(fd) -> 0 | -errno: duplicates fd and runs uv_poll_init on the
  // duplicate, on this thread's loop. The fd's description is made
  // non-blocking by libuv; a regular file gives -EPERM, a closed fd -EBADF.
  Napi::Value Open(const Napi::CallbackInfo& info) {
    int32_t fd;
    if (!ArgInt32(info, 0, &fd)) return Napi::Value();
    if (state_ != kNew)
      return Result(info.Env(), state_ == kOpen ? -EALREADY : -EBADF);
    uv_loop_t* loop;
    if (napi_get_uv_event_loop(env_, &loop) != napi_ok)
      return Result(info.Env(), -EINVAL);
    int dup = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (dup == -1) return Result(info.Env(), -errno);
    auto* h = new PollHandle();
    int r = uv_poll_init(loop, &h->poll, dup);
    if (r < 0) {
      close(dup);
      delete h;
      return Result(info.Env(), r);
    }
    h->fd = dup;
    h->owner = this;
    h->poll.data = h;
    handle_ = h;
    if (AddonData* data = GetAddonData(env_)) data->open_watchers++;
    fd_ = fd;
    state_ = kOpen;
    napi_create_reference(env_, info.This(), 1, &self_);
    napi_value name = Napi::String::New(env_, "iomodes:Watcher");
    if (napi_async_init(env_, info.This(), name, &context_) != napi_ok)
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
      DropCallback();
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
    napi_value recv, fn;
    napi_get_reference_value(env, w->self_, &recv);
    napi_get_reference_value(env, w->callback_, &fn);
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
    close(h->fd);
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
    DropCallback();
    napi_ref self = self_;
    self_ = nullptr;
    if (self != nullptr) napi_delete_reference(env_, self);
  }

  static void OnTeardown(napi_async_cleanup_hook_handle, void* arg) {
    auto* w = static_cast<Watcher*>(arg);
    if (w->state_ == kOpen) w->BeginClose();
  }

  napi_env env_;
  napi_ref callback_ = nullptr;
  napi_ref self_ = nullptr;
  napi_async_context context_ = nullptr;
  napi_async_cleanup_hook_handle hook_ = nullptr;
  PollHandle* handle_ = nullptr;
  int32_t fd_ = -1;
  State state_ = kNew;
};

const napi_type_tag Watcher::kTag = {0x696f6d6f64657377ULL, 0x617463686572763aULL};

}  // namespace

void
InitWatcher(Napi::Env env, Napi::Object exports, Napi::Object constants) {
  exports.Set("Watcher", Watcher::Define(env));

#define C(name) constants.Set(#name, Napi::Number::New(env, name))
  C(UV_READABLE); C(UV_WRITABLE); C(UV_DISCONNECT); C(UV_PRIORITIZED);
#undef C
}

}  // namespace iomodes
