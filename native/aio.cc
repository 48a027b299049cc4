// LinuxAio: Linux native AIO through raw syscalls (no libaio): io_setup,
// io_submit, io_getevents, io_cancel, io_destroy. Every iocb carries
// IOCB_FLAG_RESFD, so the kernel bumps one eventfd per completion, and the
// loop's Watcher on that eventfd calls reap().
//
// One object owns one AIO context of `capacity` events and one slot per
// event: an iocb at a fixed address (io_cancel finds an operation by it)
// and the operation's bounce buffer (inflight.h). aio_data is the slot.
// The JS side picks free slots (lib/async/inflight.ts).
//
// Batching: read()/write()/... only prepare an iocb and queue it; submit()
// hands every queued iocb to the kernel in one io_submit. io_submit may take
// fewer than it was given: the rest stay queued, as they do on EAGAIN (the
// context is full); an iocb the kernel refuses outright (EBADF, EINVAL)
// completes with that errno instead. Such local completions, and queued
// iocbs cancelled before submission, are kept here until the next reap(),
// and the eventfd is bumped so the watcher runs.
//
// What stays pinned: a slot's bounce buffer (and, for readv/writev, its
// iovec array, which the kernel reads during io_submit) lives until the
// slot's completion is reaped. close() and the env cleanup hook cancel,
// reap for up to 2 s, then io_destroy, which itself waits until the
// kernel is done with every operation; only if io_destroy fails is a
// bounce buffer leaked (and counted).
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <deque>
#include <memory>
#include <vector>

#include "addon.h"
#include "inflight.h"
#include "wrap.h"

namespace iomodes {

namespace {

// More than fs.aio-max-nr's default (65536) allows anyway; bounds the slot
// table this object allocates.
constexpr uint32_t kMaxEvents = 1u << 20;
// Events one io_getevents call takes at most.
constexpr uint32_t kMaxReap = 1024;
// How long close() waits for cancelled and uncancellable operations.
constexpr int64_t kTeardownNs = 2000000000LL;

long
SysIoSetup(unsigned nr, aio_context_t* ctx) {
  return IOMODES_ERRNO(syscall(__NR_io_setup, nr, ctx));
}
long
SysIoDestroy(aio_context_t ctx) {
  return IOMODES_ERRNO(syscall(__NR_io_destroy, ctx));
}
long
SysIoSubmit(aio_context_t ctx, long n, struct iocb** iocbs) {
  return IOMODES_RETRY(syscall(__NR_io_submit, ctx, n, iocbs));
}
long
SysIoGetevents(aio_context_t ctx, long min, long max, struct io_event* events,
               struct timespec* timeout) {
  return IOMODES_ERRNO(syscall(__NR_io_getevents, ctx, min, max, events, timeout));
}
long
SysIoCancel(aio_context_t ctx, struct iocb* iocb, struct io_event* result) {
  return IOMODES_ERRNO(syscall(__NR_io_cancel, ctx, iocb, result));
}

int64_t
NowNs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

class LinuxAio {
 public:
  static constexpr const char* kName = "LinuxAio";
  static const napi_type_tag kTag;

  static LinuxAio* Create(const Napi::CallbackInfo& info) {
    return new LinuxAio(info.Env());
  }
  void Wrapped(napi_env, napi_value) {}

  ~LinuxAio() {
    // The finalizer frees memory only. An open object holds a reference to
    // itself, so it is collected only once closed (or at teardown, after
    // the cleanup hook closed it): no slot is pinned any more.
  }

  // open(nrEvents) -> 0 | -errno: io_setup(nrEvents) and an eventfd
  // (non-blocking, close-on-exec) for IOCB_FLAG_RESFD. EAGAIN: fs.aio-nr
  // would pass fs.aio-max-nr; EINVAL: 0 events.
  Napi::Value Open(const Napi::CallbackInfo& info) {
    napi_env env = info.Env();
    uint32_t nr;
    if (!ArgUint32(info, 0, &nr)) return Napi::Value();
    if (state_ != kNew) return Result(env, state_ == kOpen ? -EALREADY : -EBADF);
    if (nr == 0 || nr > kMaxEvents) return Result(env, -EINVAL);
    aio_context_t ctx = 0;
    long r = SysIoSetup(nr, &ctx);
    if (r < 0) return Result(env, r);
    int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (efd < 0) {
      long e = -errno;
      SysIoDestroy(ctx);
      return Result(env, e);
    }
    ctx_ = ctx;
    efd_ = efd;
    slots_.reset(new Slot[nr]);
    events_.resize(nr < kMaxReap ? nr : kMaxReap);
    capacity_ = nr;
    state_ = kOpen;
    // The eventfd is owned: a plain close() of it is EBUSY.
    if (AddonData* d = GetAddonData(env)) d->owned_fds[efd] = d->next_generation++;
    napi_create_reference(env, info.This(), 1, &self_);
    napi_add_env_cleanup_hook(env, OnTeardown, this);
    hooked_ = true;
    return Result(env, 0);
  }

  // read(slot, fd, buffer, offset, length, position) -> 0 | -errno:
  // prepares an IOCB_CMD_PREAD into a bounce buffer; submit() sends it.
  Napi::Value Read(const Napi::CallbackInfo& info) {
    return PrepRange(info, IOCB_CMD_PREAD);
  }
  Napi::Value Write(const Napi::CallbackInfo& info) {
    return PrepRange(info, IOCB_CMD_PWRITE);
  }
  // readv(slot, fd, buffers, position) -> 0 | -errno: IOCB_CMD_PREADV.
  Napi::Value Readv(const Napi::CallbackInfo& info) {
    return PrepVector(info, IOCB_CMD_PREADV);
  }
  Napi::Value Writev(const Napi::CallbackInfo& info) {
    return PrepVector(info, IOCB_CMD_PWRITEV);
  }
  // fsync(slot, fd) -> 0 | -errno: IOCB_CMD_FSYNC (Linux 4.18+).
  Napi::Value Fsync(const Napi::CallbackInfo& info) {
    return PrepSync(info, IOCB_CMD_FSYNC);
  }
  Napi::Value Fdatasync(const Napi::CallbackInfo& info) {
    return PrepSync(info, IOCB_CMD_FDSYNC);
  }

  // submit() -> how many iocbs are still queued (0: all went), or -EBADF
  // once closed. One io_submit for the queue, more only after a partial
  // return or a refused iocb.
  Napi::Value Submit(const Napi::CallbackInfo& info) {
    napi_env env = info.Env();
    if (state_ != kOpen) return Result(env, -EBADF);
    bool failed = false;
    std::vector<struct iocb*> batch;
    while (!queue_.empty()) {
      batch.clear();
      for (uint32_t slot : queue_) batch.push_back(&slots_[slot].cb);
      long r = SysIoSubmit(ctx_, static_cast<long>(batch.size()), batch.data());
      if (r == -EAGAIN || r == 0) break;  // full: the rest wait for reaps
      if (r > 0) {
        for (long k = 0; k < r; k++) {
          slots_[queue_.front()].state = kSubmitted;
          queue_.pop_front();
          in_kernel_++;
        }
        continue;
      }
      // The first iocb was refused: it completes with the errno.
      uint32_t slot = queue_.front();
      queue_.pop_front();
      CompleteLocally(slot, r);
      failed = true;
    }
    if (failed) Signal();
    return Result(env, static_cast<long>(queue_.size()));
  }

  // cancel(slot) -> 0 | -errno. A queued iocb is withdrawn and completes
  // with -ECANCELED; a submitted one gets io_cancel, whose answer is
  // returned (-EINPROGRESS: cancelled, the completion follows; -EINVAL or
  // -EAGAIN: not cancellable, it completes normally). A free slot, or one
  // out of range: -ENOENT, -EINVAL.
  Napi::Value Cancel(const Napi::CallbackInfo& info) {
    napi_env env = info.Env();
    uint32_t slot;
    if (!ArgUint32(info, 0, &slot)) return Napi::Value();
    if (state_ != kOpen) return Result(env, -EBADF);
    if (slot >= capacity_) return Result(env, -EINVAL);
    Slot& s = slots_[slot];
    if (s.state == kQueued) {
      for (auto it = queue_.begin(); it != queue_.end(); ++it) {
        if (*it == slot) {
          queue_.erase(it);
          break;
        }
      }
      CompleteLocally(slot, -ECANCELED);
      Signal();
      return Result(env, 0);
    }
    if (s.state != kSubmitted) return Result(env, -ENOENT);
    return Result(env, CancelSubmitted(slot));
  }

  // reap(out: Float64Array-sized bytes) -> pairs written: (slot, result)
  // for each completion, local ones first. Drains the eventfd first, so a
  // completion after it bumps the eventfd again. A read's bytes are copied
  // from its bounce buffer into its views here, on the loop thread.
  Napi::Value Reap(const Napi::CallbackInfo& info) {
    napi_env env = info.Env();
    uint8_t* out;
    size_t len;
    if (!ArgBytes(info, 0, &out, &len)) return Napi::Value();
    size_t room = len / (2 * sizeof(double));
    size_t n = 0;
    while (n < room && !done_.empty()) {
      Put(out, n++, done_.front().first, done_.front().second);
      done_.pop_front();
    }
    if (state_ != kOpen) return Result(env, static_cast<long>(n));
    // Always drained: the watcher is level-triggered.
    uint64_t counter;
    if (read(efd_, &counter, sizeof(counter)) < 0) {
      // EAGAIN: nothing signalled since the last drain.
    }
    size_t want = room - n;
    if (want > in_kernel_) want = in_kernel_;
    if (want > events_.size()) want = events_.size();
    if (want == 0) return Result(env, static_cast<long>(n));
    struct timespec zero = {0, 0};
    long got = SysIoGetevents(ctx_, 0, static_cast<long>(want), events_.data(), &zero);
    for (long k = 0; k < got; k++) {
      const struct io_event& ev = events_[k];
      if (ev.data >= capacity_ || slots_[ev.data].state != kSubmitted) continue;
      uint32_t slot = static_cast<uint32_t>(ev.data);
      in_kernel_--;
      Put(out, n++, slot, Finish(slot, static_cast<long>(ev.res), true));
    }
    return Result(env, static_cast<long>(n));
  }

  // close() -> 0, idempotent: see the file comment. The completions it
  // gathered stay for reap().
  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (state_ == kOpen) Teardown(true);
    else if (state_ == kNew) state_ = kClosed;
    return Result(info.Env(), 0);
  }

  // The eventfd IOCB_FLAG_RESFD signals, or -1 when not open.
  Napi::Value GetEventfd(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), state_ == kOpen ? efd_ : -1);
  }
  // The context's nr_events: operations in the kernel at once.
  Napi::Value GetCapacity(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), capacity_);
  }

 private:
  enum State { kNew, kOpen, kClosed };
  // kPinning: taking the buffers, which may run JS (an array's getters)
  // that calls back into this object: the slot is busy meanwhile.
  enum SlotState : uint8_t { kFree, kPinning, kQueued, kSubmitted };

  struct Slot {
    struct iocb cb;
    Bounce bounce;
    SlotState state = kFree;
    bool is_read = false;
  };

  explicit LinuxAio(napi_env env) : env_(env) {}

  static void Put(uint8_t* out, size_t i, uint32_t slot, long result) {
    double pair[2] = {static_cast<double>(slot), static_cast<double>(result)};
    memcpy(out + i * sizeof(pair), pair, sizeof(pair));
  }

  // Decodes (slot, fd) at info[0], info[1]; the slot, or -errno (0 is a
  // valid slot, so the result is signed). False with a pending exception.
  bool Head(const Napi::CallbackInfo& info, long* slot, int32_t* fd) {
    uint32_t s;
    if (!ArgUint32(info, 0, &s) || !ArgInt32(info, 1, fd)) return false;
    if (state_ != kOpen) *slot = -EBADF;
    else if (s >= capacity_) *slot = -EINVAL;
    else if (slots_[s].state != kFree) *slot = -EBUSY;
    else *slot = s;
    return true;
  }

  void Prepare(uint32_t slot, int32_t fd, uint16_t opcode, uint64_t buf,
               uint64_t nbytes, int64_t position, bool is_read) {
    Slot& s = slots_[slot];
    memset(&s.cb, 0, sizeof(s.cb));
    s.cb.aio_data = slot;
    s.cb.aio_lio_opcode = opcode;
    s.cb.aio_fildes = static_cast<uint32_t>(fd);
    s.cb.aio_buf = buf;
    s.cb.aio_nbytes = nbytes;
    s.cb.aio_offset = position;
    s.cb.aio_flags = IOCB_FLAG_RESFD;
    s.cb.aio_resfd = static_cast<uint32_t>(efd_);
    s.state = kQueued;
    s.is_read = is_read;
    queue_.push_back(slot);
  }

  Napi::Value PrepRange(const Napi::CallbackInfo& info, uint16_t opcode) {
    long slot;
    int32_t fd;
    int64_t position;
    // Every integer first; the bytes last.
    if (!Head(info, &slot, &fd) || !ArgInt64(info, 5, &position))
      return Napi::Value();
    bool is_read = opcode == IOCB_CMD_PREAD;
    return Pin(info, slot, position, [&](Bounce& b) {
      return b.PinRange(info, 2, !is_read);
    }, [&](Bounce& b) {
      Prepare(static_cast<uint32_t>(slot), fd, opcode,
              reinterpret_cast<uintptr_t>(b.data()), b.size(), position,
              is_read);
    });
  }

  Napi::Value PrepVector(const Napi::CallbackInfo& info, uint16_t opcode) {
    long slot;
    int32_t fd;
    int64_t position;
    if (!Head(info, &slot, &fd) || !ArgInt64(info, 3, &position))
      return Napi::Value();
    bool is_read = opcode == IOCB_CMD_PREADV;
    return Pin(info, slot, position, [&](Bounce& b) {
      return b.PinArray(info, 2, !is_read);
    }, [&](Bounce& b) {
      // The kernel reads the iovec array during io_submit; it lives in the
      // Bounce until the completion.
      Prepare(static_cast<uint32_t>(slot), fd, opcode,
              reinterpret_cast<uintptr_t>(b.iov()), b.iovcnt(), position,
              is_read);
    });
  }

  // Pins the buffers into the slot's bounce buffer, then queues the iocb.
  // A bad buffer argument throws whatever the object's state; pinning may
  // run JS (getters), which may close this object or use the slot, so the
  // slot is busy meanwhile and the state is checked again after.
  template <typename PinFn, typename QueueFn>
  Napi::Value Pin(const Napi::CallbackInfo& info, long slot, int64_t position,
                  PinFn pin, QueueFn queue) {
    napi_env env = info.Env();
    if (slot < 0) {
      Bounce probe;
      if (!pin(probe)) return Napi::Value();
      probe.Finish(0, false);
      return Result(env, slot);
    }
    Slot& s = slots_[slot];
    s.state = kPinning;
    if (!pin(s.bounce)) {
      s.state = kFree;
      return Napi::Value();
    }
    long r = state_ != kOpen ? -EBADF : position < 0 ? -EINVAL : 0;
    if (r < 0) {
      s.bounce.Finish(0, false);
      s.state = kFree;
      return Result(env, r);
    }
    queue(s.bounce);
    return Result(env, 0);
  }

  Napi::Value PrepSync(const Napi::CallbackInfo& info, uint16_t opcode) {
    long slot;
    int32_t fd;
    if (!Head(info, &slot, &fd)) return Napi::Value();
    if (slot < 0) return Result(info.Env(), slot);
    Prepare(static_cast<uint32_t>(slot), fd, opcode, 0, 0, 0, false);
    return Result(info.Env(), 0);
  }

  // The slot's completion: copies a read's bytes out (if asked), frees the
  // bounce buffer and the slot.
  long Finish(uint32_t slot, long result, bool copy_out) {
    Slot& s = slots_[slot];
    long r = s.bounce.Finish(result, copy_out && s.is_read);
    s.state = kFree;
    return r;
  }

  void CompleteLocally(uint32_t slot, long result) {
    done_.emplace_back(slot, Finish(slot, result, false));
  }

  // Wakes the watcher for completions that did not come from the kernel.
  void Signal() {
    uint64_t one = 1;
    if (write(efd_, &one, sizeof(one)) < 0) {
      // EAGAIN only at a counter of 2**64 - 2: the watcher is due anyway.
    }
  }

  long CancelSubmitted(uint32_t slot) {
    struct io_event ev;
    long r = SysIoCancel(ctx_, &slots_[slot].cb, &ev);
    // Kernels before 4.19 could complete the cancel in place (0, with the
    // event filled in) instead of through the ring.
    if (r == 0) {
      in_kernel_--;
      done_.emplace_back(slot, Finish(slot, static_cast<long>(ev.res), false));
      Signal();
    }
    return r;
  }

  // close() (copy_out) and the env cleanup hook (not: no JS may run, and
  // no one will read the bytes).
  void Teardown(bool copy_out) {
    state_ = kClosed;
    while (!queue_.empty()) {
      CompleteLocally(queue_.front(), -ECANCELED);
      queue_.pop_front();
    }
    for (uint32_t k = 0; k < capacity_; k++) {
      if (slots_[k].state == kSubmitted) {
        struct io_event ev;
        if (SysIoCancel(ctx_, &slots_[k].cb, &ev) == 0) {
          in_kernel_--;
          done_.emplace_back(k, Finish(k, static_cast<long>(ev.res), copy_out));
        }
      }
    }
    int64_t deadline = NowNs() + kTeardownNs;
    while (in_kernel_ > 0) {
      int64_t left = deadline - NowNs();
      if (left <= 0) break;
      struct timespec ts = {static_cast<time_t>(left / 1000000000LL),
                            static_cast<long>(left % 1000000000LL)};
      size_t want = in_kernel_ < events_.size() ? in_kernel_ : events_.size();
      long got = SysIoGetevents(ctx_, 1, static_cast<long>(want),
                                events_.data(), &ts);
      if (got < 0 && got != -EINTR) break;
      for (long k = 0; k < got; k++) {
        const struct io_event& ev = events_[k];
        if (ev.data >= capacity_ || slots_[ev.data].state != kSubmitted) continue;
        uint32_t slot = static_cast<uint32_t>(ev.data);
        in_kernel_--;
        done_.emplace_back(slot, Finish(slot, static_cast<long>(ev.res), copy_out));
      }
    }
    // Waits, uninterruptibly, for what is still in flight.
    long destroyed = SysIoDestroy(ctx_);
    for (uint32_t k = 0; k < capacity_ && in_kernel_ > 0; k++) {
      if (slots_[k].state != kSubmitted) continue;
      in_kernel_--;
      if (destroyed == 0) {
        // The kernel is done with the buffer; its result is lost.
        done_.emplace_back(k, Finish(k, -ECANCELED, false));
      } else {
        slots_[k].bounce.Abandon();
        slots_[k].state = kFree;
        done_.emplace_back(k, -ECANCELED);
      }
    }
    if (AddonData* d = GetAddonData(env_)) d->owned_fds.erase(efd_);
    close(efd_);
    efd_ = -1;
    ctx_ = 0;
    if (hooked_) {
      napi_remove_env_cleanup_hook(env_, OnTeardown, this);
      hooked_ = false;
    }
    napi_ref self = self_;
    self_ = nullptr;
    if (self != nullptr) napi_delete_reference(env_, self);
  }

  static void OnTeardown(void* arg) {
    auto* aio = static_cast<LinuxAio*>(arg);
    aio->hooked_ = false;  // running: no need (nor way) to remove it
    if (aio->state_ == kOpen) aio->Teardown(false);
    aio->done_.clear();
  }

  napi_env env_;
  napi_ref self_ = nullptr;
  bool hooked_ = false;
  State state_ = kNew;
  aio_context_t ctx_ = 0;
  int efd_ = -1;
  uint32_t capacity_ = 0;
  uint32_t in_kernel_ = 0;
  std::unique_ptr<Slot[]> slots_;
  std::vector<struct io_event> events_;
  std::deque<uint32_t> queue_;
  std::deque<std::pair<uint32_t, long>> done_;
};

const napi_type_tag LinuxAio::kTag = {0x696f6d6f6465736cULL, 0x696e757861696f3aULL};

}  // namespace

void
InitAio(Napi::Env env, Napi::Object exports, Napi::Object constants) {
  using W = Wrap<LinuxAio>;
  const napi_property_descriptor props[] = {
      W::Method<&LinuxAio::Open>("open"),
      W::Method<&LinuxAio::Read>("read"),
      W::Method<&LinuxAio::Write>("write"),
      W::Method<&LinuxAio::Readv>("readv"),
      W::Method<&LinuxAio::Writev>("writev"),
      W::Method<&LinuxAio::Fsync>("fsync"),
      W::Method<&LinuxAio::Fdatasync>("fdatasync"),
      W::Method<&LinuxAio::Submit>("submit"),
      W::Method<&LinuxAio::Cancel>("cancel"),
      W::Method<&LinuxAio::Reap>("reap"),
      W::Method<&LinuxAio::Close>("close"),
      W::Getter<&LinuxAio::GetEventfd>("eventfd"),
      W::Getter<&LinuxAio::GetCapacity>("capacity"),
  };
  exports.Set("LinuxAio", W::Define(env, props));
}

}  // namespace iomodes
