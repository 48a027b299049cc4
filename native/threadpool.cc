// The threadpool backend: each operation is one blocking syscall (pread64,
// pwrite64, preadv, pwritev, read, write, readv, writev, fsync, fdatasync)
// run on libuv's thread pool with uv_queue_work, as Node's fs does. Unlike
// fs, the completion does not come back through the after-work callback:
// the pool thread pushes (slot, result) onto a mutex-protected list and
// writes the object's eventfd, which the one watcher (CompletionWatcher in
// TS) reaps through reap(), exactly as for io_uring and Linux AIO. The
// after-work callback, on the loop thread, only frees the request (and
// posts -ECANCELED for a request uv_cancel took off the queue).
//
// Memory (inflight.h, rule 5): a pool thread never touches JS memory. A
// write's bytes were copied into the op's Bounce at submission; a read
// lands in the Bounce and is copied out on the loop thread in reap().
//
// Lifetime. A pool thread blocked in read(2) on an empty pipe or socket
// does not return until data comes: close() cannot wait for it forever.
// So everything a pool thread touches -- its request (Op) and the
// completion list, mutex and eventfd number (Shared) -- is refcounted and
// outlives the ThreadpoolIo: each Op holds a shared_ptr to Shared, and the
// Op itself is freed by libuv's after-work callback, whenever the syscall
// finally returns. close() first interrupts what it can (below), waits a
// bounded time for the rest, then abandons their Bounces (leaked, counted:
// the thread may still write into them) and marks Shared closed, under its
// mutex, before closing the eventfd: a late completion is dropped and never
// written to an fd number that may have been reused.
//
// Interrupting a blocked pool thread. uv_cancel only takes a request off
// the queue; one that is running cannot be cancelled that way. For those,
// cancel() and close() send the running pool thread a real-time signal
// (SIGRTMAX, with an empty handler installed without SA_RESTART): a read or
// write blocked on a pipe, socket or tty then fails with EINTR, which the
// pool thread takes as "cancelled" (-ECANCELED) instead of retrying. The
// signal is only ever sent while the thread is inside this file's work
// callback (checked under the mutex), and only while our handler is still
// the installed one (a default disposition would kill the process).
// Regular-file I/O is not interruptible this way (nor needs to be: it
// finishes). If the handler cannot be installed (the signal already has a
// handler), running operations are simply waited for.
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "inflight.h"
#include "wrap.h"

namespace iomodes {

namespace {

enum Kind { kRead, kWrite, kReadv, kWritev, kFsync, kFdatasync };

const uint32_t kMaxCapacity = 1 << 16;

// ------------------------------------------------------------ interrupts

int g_interrupt_signal = 0;  // 0: none installed
std::once_flag g_interrupt_once;

void
OnInterrupt(int) {}

void
InstallInterrupt() {
  std::call_once(g_interrupt_once, [] {
    int sig = SIGRTMAX;
    struct sigaction old;
    if (sigaction(sig, nullptr, &old) != 0) return;
    // Someone else's signal: leave it alone.
    if (!(old.sa_flags & SA_SIGINFO) && old.sa_handler != SIG_DFL) return;
    if ((old.sa_flags & SA_SIGINFO) && old.sa_sigaction != nullptr) return;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = OnInterrupt;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: the blocked syscall fails with EINTR
    if (sigaction(sig, &sa, nullptr) == 0) g_interrupt_signal = sig;
  });
}

// Whether our empty handler is still the installed one.
bool
InterruptUsable() {
  if (g_interrupt_signal == 0) return false;
  struct sigaction now;
  return sigaction(g_interrupt_signal, nullptr, &now) == 0 &&
         !(now.sa_flags & SA_SIGINFO) && now.sa_handler == OnInterrupt;
}

// ------------------------------------------------------------ shared state

struct Op;
class ThreadpoolIo;

// What pool threads touch, refcounted: outlives the ThreadpoolIo.
struct Shared {
  std::mutex mu;
  std::condition_variable cv;  // a completion was posted (close() waits)
  std::vector<std::pair<uint32_t, long>> done;  // guarded by mu
  int efd = -1;                                 // written under mu only
  bool closed = false;                          // guarded by mu
  // Loop thread only:
  std::vector<Op*> ops;  // by slot: the live request, until after-work
  uint32_t live = 0;     // requests whose after-work has not run
  ThreadpoolIo* owner = nullptr;  // null once the owner is finalized
  bool released = false;          // the owner closed (or was torn down)
  // The env cleanup hook, with the shared_ptr it holds (its argument). It
  // is removed only once the owner closed and `live` is 0: at Worker
  // teardown, Node keeps running the loop until it is removed, so libuv
  // runs every after-work callback and the loop closes with no request of
  // ours registered on it (a registered request makes uv_loop_close fail,
  // and Node aborts then).
  napi_async_cleanup_hook_handle hook = nullptr;
  std::shared_ptr<Shared>* holder = nullptr;
};

// Removes the hook once nothing of ours is left on the loop. May drop the
// last reference to `s`: the caller must hold its own, or not touch `s`
// after.
void
MaybeRelease(Shared* s) {
  if (!s->released || s->live != 0 || s->hook == nullptr) return;
  napi_async_cleanup_hook_handle hook = s->hook;
  std::shared_ptr<Shared>* holder = s->holder;
  s->hook = nullptr;
  s->holder = nullptr;
  napi_remove_async_cleanup_hook(hook);
  delete holder;
}

// One request. Owned by libuv from uv_queue_work until after-work deletes it.
struct Op {
  uv_work_t req;
  std::shared_ptr<Shared> shared;
  uint32_t slot;
  Kind kind;
  int fd;
  int64_t position;          // -1: the current file offset
  std::vector<iovec> iov;    // over the Bounce's buffer, never JS memory
  // Guarded by shared->mu (interrupt is also read without it):
  bool running = false;
  bool finished = false;
  std::atomic<bool> interrupt{false};
  pthread_t thread;
};

long
RunSyscall(Op* op) {
  const iovec* v = op->iov.data();
  int n = static_cast<int>(op->iov.size());
  int fd = op->fd;
  off_t pos = static_cast<off_t>(op->position);
  bool cur = op->position < 0;
  for (;;) {
    // Narrows the window in which an interrupt can come before the
    // syscall starts (close() repeats it until the op completes).
    if (op->interrupt.load(std::memory_order_relaxed)) return -ECANCELED;
    long r;
    switch (op->kind) {
      case kRead:
        r = cur ? read(fd, v[0].iov_base, v[0].iov_len)
                : pread64(fd, v[0].iov_base, v[0].iov_len, pos);
        break;
      case kWrite:
        r = cur ? write(fd, v[0].iov_base, v[0].iov_len)
                : pwrite64(fd, v[0].iov_base, v[0].iov_len, pos);
        break;
      case kReadv:
        r = cur ? readv(fd, v, n) : preadv(fd, v, n, pos);
        break;
      case kWritev:
        r = cur ? writev(fd, v, n) : pwritev(fd, v, n, pos);
        break;
      case kFsync:
        r = fsync(fd);
        break;
      default:
        r = fdatasync(fd);
        break;
    }
    if (r >= 0) return r;
    if (errno != EINTR) return -errno;
    // EINTR: retried, unless it was our interrupt (checked at the top).
  }
}

// Publishes a completion: onto the list and the eventfd, unless the object
// closed (then it is dropped: close() settled the slot already).
void
Post(Op* op, long result) {
  Shared* s = op->shared.get();
  {
    std::lock_guard<std::mutex> lock(s->mu);
    op->running = false;
    op->finished = true;
    if (!s->closed) {
      s->done.emplace_back(op->slot, result);
      uint64_t one = 1;
      // Non-blocking; it cannot fail short of the counter overflowing.
      ssize_t w = write(s->efd, &one, sizeof(one));
      (void)w;
    }
  }
  s->cv.notify_all();
}

// On a pool thread.
void
Work(uv_work_t* req) {
  Op* op = static_cast<Op*>(req->data);
  {
    std::lock_guard<std::mutex> lock(op->shared->mu);
    op->running = true;
    op->thread = pthread_self();
  }
  static thread_local bool unblocked = false;
  if (g_interrupt_signal != 0 && !unblocked) {
    // libuv's pool threads may block signals; ours must get through.
    unblocked = true;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, g_interrupt_signal);
    pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
  }
  Post(op, RunSyscall(op));
}

// On the loop thread: frees the request. A request uv_cancel took off the
// queue never ran, so its completion is posted here.
void
AfterWork(uv_work_t* req, int status) {
  Op* op = static_cast<Op*>(req->data);
  if (status == UV_ECANCELED) Post(op, -ECANCELED);
  std::shared_ptr<Shared> s = std::move(op->shared);
  if (op->slot < s->ops.size() && s->ops[op->slot] == op)
    s->ops[op->slot] = nullptr;
  delete op;
  s->live--;
  MaybeRelease(s.get());
}

// Sends the interrupt to `op`'s pool thread if it is running our syscall.
// Called with shared->mu held.
void
InterruptLocked(Op* op, bool usable) {
  op->interrupt = true;
  if (op->running && usable) pthread_kill(op->thread, g_interrupt_signal);
}

// ------------------------------------------------------------ the class

class ThreadpoolIo {
 public:
  static constexpr const char* kName = "ThreadpoolIo";
  static const napi_type_tag kTag;

  static ThreadpoolIo* Create(const Napi::CallbackInfo& info) {
    return new ThreadpoolIo(info.Env());
  }
  void Wrapped(napi_env, napi_value) {}

  ~ThreadpoolIo() {
    // Memory only (wrap.h). Reached while open only for an object never
    // closed (a raw native one dropped; the TS class's open watcher keeps
    // it alive): its Bounces' destructors leak what they hold, its eventfd
    // stays owned until teardown, and the hook finishes the job.
    if (shared_ != nullptr) shared_->owner = nullptr;
  }

  // open(capacity) -> 0 | -errno: the eventfd (owned, so close(2) of it is
  // refused) and the slot table.
  Napi::Value Open(const Napi::CallbackInfo& info) {
    uint32_t capacity;
    if (!ArgUint32(info, 0, &capacity)) return Napi::Value();
    if (capacity == 0 || capacity > kMaxCapacity) {
      ThrowRangeError(info.Env(), "capacity must be 1 to 65536");
      return Napi::Value();
    }
    if (state_ != kNew) return Result(info.Env(), state_ == kOpen ? -EALREADY : -EBADF);
    AddonData* data = GetAddonData(env_);
    if (data == nullptr) return Result(info.Env(), -EINVAL);
    if (napi_get_uv_event_loop(env_, &loop_) != napi_ok)
      return Result(info.Env(), -EINVAL);
    int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (efd == -1) return Result(info.Env(), -errno);
    InstallInterrupt();
    shared_ = std::make_shared<Shared>();
    shared_->efd = efd;
    shared_->ops.assign(capacity, nullptr);
    slots_ = std::vector<Slot>(capacity);
    generation_ = data->next_generation++;
    data->owned_fds[efd] = generation_;
    efd_ = efd;
    shared_->owner = this;
    shared_->holder = new std::shared_ptr<Shared>(shared_);
    if (napi_add_async_cleanup_hook(env_, OnTeardown, shared_->holder,
                                    &shared_->hook) != napi_ok) {
      delete shared_->holder;
      shared_->holder = nullptr;
      shared_->hook = nullptr;
    }
    state_ = kOpen;
    return Result(info.Env(), 0);
  }

  // read(slot, fd, view, offset, length, position) -> 0 | -errno
  Napi::Value Read(const Napi::CallbackInfo& info) { return Submit(info, kRead); }
  Napi::Value Write(const Napi::CallbackInfo& info) { return Submit(info, kWrite); }
  // readv(slot, fd, views, position) -> 0 | -errno
  Napi::Value Readv(const Napi::CallbackInfo& info) { return Submit(info, kReadv); }
  Napi::Value Writev(const Napi::CallbackInfo& info) { return Submit(info, kWritev); }
  // fsync(slot, fd) -> 0 | -errno
  Napi::Value Fsync(const Napi::CallbackInfo& info) { return Submit(info, kFsync); }
  Napi::Value Fdatasync(const Napi::CallbackInfo& info) { return Submit(info, kFdatasync); }

  // cancel(slot) -> 0 | -errno: 0 if the request was taken off the queue
  // or its blocked syscall interrupted; -EALREADY if it is running (or
  // done) and cannot be interrupted; -ENOENT for a free slot. The
  // completion (maybe -ECANCELED) still comes through reap().
  Napi::Value Cancel(const Napi::CallbackInfo& info) {
    uint32_t slot;
    if (!ArgUint32(info, 0, &slot)) return Napi::Value();
    if (state_ != kOpen) return Result(info.Env(), -EBADF);
    if (slot >= slots_.size()) {
      ThrowRangeError(info.Env(), "slot must be below the capacity");
      return Napi::Value();
    }
    if (!slots_[slot].in_use) return Result(info.Env(), -ENOENT);
    Op* op = shared_->ops[slot];
    if (op == nullptr) return Result(info.Env(), -EALREADY);  // done
    if (uv_cancel(reinterpret_cast<uv_req_t*>(&op->req)) == 0)
      return Result(info.Env(), 0);
    // Dequeued: running, or about to (it then sees the flag and stops).
    bool usable = InterruptUsable();
    std::lock_guard<std::mutex> lock(shared_->mu);
    if (op->finished) return Result(info.Env(), -EALREADY);
    InterruptLocked(op, usable);
    return Result(info.Env(), op->running && !usable ? -EALREADY : 0);
  }

  // reap(out) -> count: (slot, result) pairs as doubles, after each
  // read's bytes were copied out to its views. Drains the eventfd.
  Napi::Value Reap(const Napi::CallbackInfo& info) {
    uint8_t* out;
    size_t len;
    if (!ArgBytes(info, 0, &out, &len)) return Napi::Value();
    if (state_ != kOpen) return Result(info.Env(), 0);
    uint64_t count;
    ssize_t r = read(efd_, &count, sizeof(count));
    (void)r;
    size_t max = len / (2 * sizeof(double));
    std::vector<std::pair<uint32_t, long>> batch;
    {
      std::lock_guard<std::mutex> lock(shared_->mu);
      size_t n = std::min(max, shared_->done.size());
      batch.assign(shared_->done.begin(), shared_->done.begin() + n);
      shared_->done.erase(shared_->done.begin(), shared_->done.begin() + n);
      // Completions left behind: keep the eventfd readable for the next reap.
      if (!shared_->done.empty()) {
        uint64_t one = 1;
        ssize_t w = write(efd_, &one, sizeof(one));
        (void)w;
      }
    }
    size_t k = 0;
    for (auto& c : batch) {
      Slot& s = slots_[c.first];
      long result = s.bounce.Finish(c.second, s.copy_out);
      s.in_use = false;
      double pair[2] = {static_cast<double>(c.first), static_cast<double>(result)};
      memcpy(out + k * sizeof(pair), pair, sizeof(pair));
      k++;
    }
    return Result(info.Env(), static_cast<long>(k));
  }

  Napi::Value GetEventfd(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), state_ == kOpen ? efd_ : -1);
  }

  // close(timeoutMs) -> leaked: cancels the queued requests, interrupts the
  // running ones, waits up to timeoutMs for their completions, then
  // releases every slot; what did not complete is abandoned (leaked on
  // purpose, counted). Idempotent: 0 when not open.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    uint32_t timeout;
    if (!ArgUint32(info, 0, &timeout)) return Napi::Value();
    if (state_ == kNew) state_ = kClosed;
    if (state_ != kOpen) return Result(info.Env(), 0);
    long leaked = DoClose(timeout);
    MaybeRelease(shared_.get());
    return Result(info.Env(), leaked);
  }

 private:
  enum State { kNew, kOpen, kClosed };

  struct Slot {
    Bounce bounce;
    bool in_use = false;
    bool copy_out = false;  // a read: bytes go back to the views on reap
  };

  explicit ThreadpoolIo(napi_env env) : env_(env) {}

  Napi::Value Submit(const Napi::CallbackInfo& info, Kind kind) {
    Napi::Env env = info.Env();
    uint32_t slot;
    int32_t fd;
    int64_t position = -1;
    // The integers first; the bytes (which may run getters) last.
    if (!ArgUint32(info, 0, &slot) || !ArgInt32(info, 1, &fd))
      return Napi::Value();
    if (kind == kRead || kind == kWrite || kind == kReadv || kind == kWritev) {
      size_t at = kind == kRead || kind == kWrite ? 5 : 3;
      if (!ArgIntRange(info, at, -1, INT64_MAX, &position))
        return Napi::Value();
    }
    if (state_ == kOpen && slot >= slots_.size()) {
      ThrowRangeError(env, "slot must be below the capacity");
      return Napi::Value();
    }
    if (state_ != kOpen) return Result(env, -EBADF);
    Slot& s = slots_[slot];
    if (s.in_use) return Result(env, -EBUSY);
    bool read = kind == kRead || kind == kReadv;
    // Taken before pinning: an array element's getter may call back in
    // (the same slot is then -EBUSY) or close this object.
    s.in_use = true;
    bool pinned = true;
    if (kind == kRead || kind == kWrite) {
      pinned = s.bounce.PinRange(info, 2, !read);
    } else if (kind == kReadv || kind == kWritev) {
      pinned = s.bounce.PinArray(info, 2, !read);
    }
    if (state_ != kOpen) {
      s.bounce.Finish(-EBADF, false);
      if (!pinned) return Napi::Value();
      return Result(env, -EBADF);
    }
    if (!pinned) {
      s.in_use = false;
      return Napi::Value();
    }
    auto* op = new Op();
    op->req.data = op;
    op->shared = shared_;
    op->slot = slot;
    op->kind = kind;
    op->fd = fd;
    op->position = position;
    if (s.bounce.pinned())
      op->iov.assign(s.bounce.iov(), s.bounce.iov() + s.bounce.iovcnt());
    int r = uv_queue_work(loop_, &op->req, Work, AfterWork);
    if (r != 0) {
      delete op;
      s.bounce.Finish(r, false);
      s.in_use = false;
      return Result(env, r);
    }
    shared_->ops[slot] = op;
    shared_->live++;
    s.copy_out = read;
    return Result(env, 0);
  }

  long DoClose(uint32_t timeout_ms) {
    Shared* sh = shared_.get();
    bool usable = InterruptUsable();
    std::vector<bool> cancelled(slots_.size(), false);
    for (size_t k = 0; k < slots_.size(); k++) {
      Op* op = sh->ops[k];
      if (!slots_[k].in_use || op == nullptr) continue;
      if (uv_cancel(reinterpret_cast<uv_req_t*>(&op->req)) == 0)
        cancelled[k] = true;
    }
    auto deadline = std::chrono::steady_clock::now() +
                    std::chrono::milliseconds(timeout_ms);
    std::unique_lock<std::mutex> lock(sh->mu);
    for (;;) {
      bool waiting = false;
      for (size_t k = 0; k < slots_.size(); k++) {
        Op* op = sh->ops[k];
        if (!slots_[k].in_use || op == nullptr || cancelled[k] || op->finished)
          continue;
        waiting = true;
        // Again each round: the signal may have come just before the
        // thread entered its syscall.
        InterruptLocked(op, usable);
      }
      if (!waiting) break;
      auto now = std::chrono::steady_clock::now();
      if (now >= deadline) break;
      auto step = std::min<std::chrono::steady_clock::duration>(
          deadline - now, std::chrono::milliseconds(10));
      sh->cv.wait_for(lock, step);
    }
    // From here no completion reaches the list or the eventfd.
    sh->closed = true;
    std::vector<bool> finished(slots_.size(), false);
    for (size_t k = 0; k < slots_.size(); k++) {
      Op* op = sh->ops[k];
      finished[k] = op == nullptr || cancelled[k] || op->finished;
    }
    sh->done.clear();
    lock.unlock();
    long leaked = 0;
    for (size_t k = 0; k < slots_.size(); k++) {
      Slot& s = slots_[k];
      if (!s.in_use) continue;
      if (finished[k]) {
        s.bounce.Finish(-ECANCELED, false);
      } else {
        s.bounce.Abandon();
        leaked++;
      }
      s.in_use = false;
    }
    ReleaseEventfd();
    state_ = kClosed;
    sh->released = true;
    return leaked;
  }

  void ReleaseEventfd() {
    AddonData* data = GetAddonData(env_);
    if (data != nullptr) {
      auto it = data->owned_fds.find(efd_);
      // Only ours: a different generation means our fd was closed behind
      // our back and the number now belongs to someone else.
      if (it != data->owned_fds.end() && it->second == generation_) {
        data->owned_fds.erase(it);
        close(efd_);
      }
    }
    efd_ = -1;
  }

  // Environment teardown (Worker exit, process exit): close as close(2000)
  // does, then keep the hook -- and with it Node's loop running -- until
  // libuv has run every request's after-work callback (MaybeRelease).
  static void OnTeardown(napi_async_cleanup_hook_handle, void* arg) {
    std::shared_ptr<Shared> sh = *static_cast<std::shared_ptr<Shared>*>(arg);
    if (sh->owner != nullptr && sh->owner->state_ == kOpen) {
      sh->owner->DoClose(2000);
    } else if (!sh->released) {
      // The owner was finalized unclosed: stop completions from reaching
      // its eventfd, which the owned-fd hook closes after this one.
      std::lock_guard<std::mutex> lock(sh->mu);
      sh->closed = true;
      sh->released = true;
    }
    MaybeRelease(sh.get());
  }

  napi_env env_;
  uv_loop_t* loop_ = nullptr;
  std::shared_ptr<Shared> shared_;
  std::vector<Slot> slots_;
  double generation_ = 0;
  int efd_ = -1;
  State state_ = kNew;
};

const napi_type_tag ThreadpoolIo::kTag = {0x696f6d6f64657374ULL,
                                          0x6872656164706f6fULL};

}  // namespace

void
InitThreadpool(Napi::Env env, Napi::Object exports, Napi::Object constants) {
  using W = Wrap<ThreadpoolIo>;
  const napi_property_descriptor props[] = {
      W::Method<&ThreadpoolIo::Open>("open"),
      W::Method<&ThreadpoolIo::Read>("read"),
      W::Method<&ThreadpoolIo::Write>("write"),
      W::Method<&ThreadpoolIo::Readv>("readv"),
      W::Method<&ThreadpoolIo::Writev>("writev"),
      W::Method<&ThreadpoolIo::Fsync>("fsync"),
      W::Method<&ThreadpoolIo::Fdatasync>("fdatasync"),
      W::Method<&ThreadpoolIo::Cancel>("cancel"),
      W::Method<&ThreadpoolIo::Reap>("reap"),
      W::Method<&ThreadpoolIo::Close>("close"),
      W::Getter<&ThreadpoolIo::GetEventfd>("eventfd"),
  };
  exports.Set("ThreadpoolIo", W::Define(env, props));
  constants.Set("THREADPOOL_MAX_CAPACITY", Napi::Number::New(env, kMaxCapacity));
}

}  // namespace iomodes
