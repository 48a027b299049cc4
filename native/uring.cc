// io_uring through the raw syscalls (io_uring_setup, io_uring_enter,
// io_uring_register) and the mmapped rings: kernel headers only, no
// liburing. The class Ring holds one ring, its completion eventfd and the
// operations in flight; every policy (options, batching, promises) lives in
// lib/async/ring.ts.
//
// - An operation is prepared into the submission queue under a slot the JS
//   side chose; it is published to the kernel only by submit(), so every
//   operation of one JS turn goes in one io_uring_enter (or submitBatch at
//   a time, when the JS side asked for smaller ones).
// - user_data = generation << 32 | slot, so a late cancel can never reach the
//   slot's next operation; bit 63 marks the ring's own requests (cancels,
//   link timeouts), whose completions are not reported.
// - Each operation's buffers are a Bounce (inflight.h) and its other kernel
//   inputs (timespec, path, sockaddr) live in its slot until the completion
//   is reaped; the kernel never sees JS memory.
// - The completion eventfd is registered with IORING_REGISTER_EVENTFD and
//   watched by the JS side's Watcher. While submit() is in the kernel the
//   eventfd is disabled (IORING_CQ_EVENTFD_DISABLED) and the queue reaped
//   right after: reads served from the page cache complete inline, with no
//   wake-up of the event loop.
// - close(): cancel everything, wait (bounded) until the kernel has let go of
//   every buffer, unmap; what could not be confirmed is leaked on purpose.
// - Registered buffers (registerBuffers, readFixed, writeFixed) are memory
//   this file maps and owns, never a JS ArrayBuffer's: see FixedBuffers.
#include <linux/io_uring.h>
#include <linux/stat.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "addon.h"
#include "inflight.h"
#include "wrap.h"

namespace iomodes {

namespace {

// Setup flags a Ring may ask for: those that keep the rings in kernel
// memory with the classic 64-byte SQE / 16-byte CQE layout and an SQ array.
const uint32_t kRingSetupFlags =
    IORING_SETUP_IOPOLL | IORING_SETUP_SQPOLL | IORING_SETUP_SQ_AFF |
    IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP | IORING_SETUP_SUBMIT_ALL |
    IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG |
    IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;

const uint64_t kInternal = 1ULL << 63;

enum Kind : uint8_t {
  kRead,      // read, readv, recv: bytes come back
  kWrite,     // write, writev, send
  kStatx,     // the struct comes back whole
  kTimeout,   // -ETIME is its success
  kPlain,     // fsync, openat, close, accept, connect, poll, cancel
};

struct Op {
  bool live = false;
  bool cancel_requested = false;
  bool link_timeout = false;
  bool fixed = false;  // uses the registered buffers (READ/WRITE_FIXED)
  Kind kind = kPlain;
  uint32_t generation = 0;
  size_t copy_bytes = 0;  // kStatx
  Bounce bounce;
  __kernel_timespec ts{};
  std::string path;
  sockaddr_storage addr{};
};

// The kernel's bounds for IORING_REGISTER_BUFFERS (io_uring/rsrc.c, not in
// the uapi headers): at most IORING_MAX_REG_BUFFERS buffers, each at most
// 1 GiB.
constexpr int64_t kMaxFixedBuffers = 1 << 14;
constexpr int64_t kMaxFixedBufferSize = 1 << 30;

// The buffers registered with IORING_REGISTER_BUFFERS: one anonymous
// mapping the addon owns, `count` buffers of `size` bytes each at a
// page-aligned stride (so each also suits O_DIRECT).
//
// Why native memory, and why JS only ever gets copies of it. The kernel
// keeps the registered pages pinned and writes into them whenever a fixed
// read completes, long after the call that registered them. JS memory
// cannot be trusted with that: an ArrayBuffer can be detached
// (transfer(), postMessage), shrunk (resizable) or freed by the GC. Handing
// JS the native memory itself, as an external ArrayBuffer, was weighed and
// left out:
// - V8 can detach an external too, and move its backing store to another
//   isolate (postMessage to a Worker). Node calls the finalizer of an
//   external when the *creating* environment is torn down, whether or not
//   another isolate still holds the backing store; freeing on that
//   finalizer would leave the other isolate with a dangling buffer, and not
//   freeing means never knowing when to free.
// - Builds with the V8 sandbox (Electron) refuse external buffers.
// - A view on memory the kernel writes asynchronously races with every
//   read JS makes of it.
// So the kernel reads and writes this memory only, and JS bytes cross by
// memcpy on the loop thread: a fixed write copies the caller's bytes in at
// submission, a fixed read copies them out when it is reaped (Bounce's
// PinBorrowed), exactly as bounce buffers do. What the registration saves
// is the kernel's per-operation page pinning (get_user_pages on O_DIRECT)
// and the bounce block; with a null view an operation touches no JS memory
// at all (file to file through the ring).
//
// The memory is unmapped only when no operation using it is in flight
// (fixed_inflight_ == 0): unregisterBuffers() with operations in flight is
// refused (-EBUSY), and close() leaks the mapping (counted in
// g_leaked_on_teardown) when it must abandon one.
struct FixedBuffers {
  uint8_t* base = nullptr;
  size_t map_size = 0;
  size_t stride = 0;
  uint32_t count = 0;
  uint32_t size = 0;
};

long
Enter(int fd, unsigned submit, unsigned wait, unsigned flags, void* arg,
      size_t argsz) {
  return IOMODES_ERRNO(
      syscall(__NR_io_uring_enter, fd, submit, wait, flags, arg, argsz));
}

class Ring {
 public:
  static constexpr const char* kName = "Ring";
  static const napi_type_tag kTag;

  static Napi::Value Define(napi_env env) {
    using W = Wrap<Ring>;
    static const napi_property_descriptor props[] = {
        W::Method<&Ring::Open>("open"),
        W::Method<&Ring::Read>("read"),
        W::Method<&Ring::Write>("write"),
        W::Method<&Ring::Readv>("readv"),
        W::Method<&Ring::Writev>("writev"),
        W::Method<&Ring::Recv>("recv"),
        W::Method<&Ring::Send>("send"),
        W::Method<&Ring::Fsync>("fsync"),
        W::Method<&Ring::Openat>("openat"),
        W::Method<&Ring::CloseFd>("closeFd"),
        W::Method<&Ring::Statx>("statx"),
        W::Method<&Ring::Accept>("accept"),
        W::Method<&Ring::Connect>("connect"),
        W::Method<&Ring::PollAdd>("poll"),
        W::Method<&Ring::Timeout>("timeout"),
        W::Method<&Ring::CancelFd>("cancelFd"),
        W::Method<&Ring::Cancel>("cancel"),
        W::Method<&Ring::Submit>("submit"),
        W::Method<&Ring::Reap>("reap"),
        W::Method<&Ring::Wait>("wait"),
        W::Method<&Ring::RegisterFiles>("registerFiles"),
        W::Method<&Ring::UnregisterFiles>("unregisterFiles"),
        W::Method<&Ring::RegisterBuffers>("registerBuffers"),
        W::Method<&Ring::UnregisterBuffers>("unregisterBuffers"),
        W::Method<&Ring::ReadFixed>("readFixed"),
        W::Method<&Ring::WriteFixed>("writeFixed"),
        W::Method<&Ring::Close>("close"),
        W::Getter<&Ring::GetEventfd>("eventfd"),
        W::Getter<&Ring::GetFd>("fd"),
        W::Getter<&Ring::GetCapacity>("capacity"),
        W::Getter<&Ring::GetInfo>("info"),
        W::Getter<&Ring::GetBufferCount>("bufferCount"),
        W::Getter<&Ring::GetBufferSize>("bufferSize"),
    };
    return W::Define(env, props);
  }

  static Ring* Create(const Napi::CallbackInfo& info) {
    return new Ring(info.Env());
  }

  void Wrapped(napi_env, napi_value) {}

  ~Ring() {
    // Only reached when closed, or at teardown after the cleanup hook ran
    // (which closed it); a ring never closed leaks its slots' buffers.
    if (hook_added_) napi_remove_env_cleanup_hook(env_, OnTeardown, this);
    // ... and its registered buffers, which the kernel still holds.
    if (fixed_) LeakFixed();
  }

 private:
  explicit Ring(napi_env env) : env_(env) {}

  // open(entries, flags, cqEntries, sqThreadIdle, sqThreadCpu, submitBatch)
  // -> 0 | -errno. submitBatch: the most SQEs per io_uring_enter (0: all).
  Napi::Value Open(const Napi::CallbackInfo& info) {
    uint32_t entries, flags, cq_entries, idle, submit_batch;
    int32_t cpu;
    if (!ArgUint32(info, 0, &entries) || !ArgUint32(info, 1, &flags) ||
        !ArgUint32(info, 2, &cq_entries) || !ArgUint32(info, 3, &idle) ||
        !ArgInt32(info, 4, &cpu) || !ArgUint32(info, 5, &submit_batch))
      return Napi::Value();
    Napi::Env env = info.Env();
    // The flags are an argument: refused whatever the ring's state.
    if (flags & ~kRingSetupFlags) {
      ThrowValueError(env, "Ring.open: flags holds a setup flag a Ring does not allow");
      return Napi::Value();
    }
    if (fd_ >= 0 || closed_) return Result(env, -EALREADY);
    io_uring_params p;
    memset(&p, 0, sizeof(p));
    p.flags = flags;
    // Deferred completions are found through the TASKRUN flag (Reap, Flush).
    if (flags & IORING_SETUP_DEFER_TASKRUN) p.flags |= IORING_SETUP_TASKRUN_FLAG;
    p.cq_entries = cq_entries;
    p.sq_thread_idle = idle;
    p.sq_thread_cpu = cpu < 0 ? 0 : static_cast<uint32_t>(cpu);
    int fd = static_cast<int>(
        IOMODES_ERRNO(syscall(__NR_io_uring_setup, entries, &p)));
    if (fd < 0) return Result(env, fd);
    long r = Map(fd, p);
    if (r == 0) {
      int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
      r = efd < 0 ? -errno : 0;
      if (r == 0) {
        r = IOMODES_ERRNO(syscall(__NR_io_uring_register, fd,
                                  IORING_REGISTER_EVENTFD, &efd, 1));
        if (r < 0) close(efd);
        else eventfd_ = efd;
      }
    }
    if (r < 0) {
      Unmap();
      close(fd);
      return Result(env, r);
    }
    fd_ = fd;
    params_ = p;
    submit_batch_ = submit_batch;
    // Slots are made on first use: a large CQ costs memory only as it is used.
    ops_.clear();
    ops_.resize(capacity_);
    AddonData* data = GetAddonData(env_);
    if (data != nullptr) {
      data->owned_fds[fd_] = data->next_generation++;
      data->owned_fds[eventfd_] = data->next_generation++;
    }
    hook_added_ = napi_add_env_cleanup_hook(env_, OnTeardown, this) == napi_ok;
    return Result(env, 0);
  }

  long Map(int fd, const io_uring_params& p) {
    sq_size_ = p.sq_off.array + p.sq_entries * sizeof(uint32_t);
    cq_size_ = p.cq_off.cqes + p.cq_entries * sizeof(io_uring_cqe);
    single_mmap_ = (p.features & IORING_FEAT_SINGLE_MMAP) != 0;
    if (single_mmap_) sq_size_ = cq_size_ = std::max(sq_size_, cq_size_);
    sq_ptr_ = mmap(nullptr, sq_size_, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQ_RING);
    if (sq_ptr_ == MAP_FAILED) {
      sq_ptr_ = nullptr;
      return -errno;
    }
    if (single_mmap_) {
      cq_ptr_ = sq_ptr_;
    } else {
      cq_ptr_ = mmap(nullptr, cq_size_, PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_CQ_RING);
      if (cq_ptr_ == MAP_FAILED) {
        cq_ptr_ = nullptr;
        return -errno;
      }
    }
    sqes_size_ = p.sq_entries * sizeof(io_uring_sqe);
    void* sqes = mmap(nullptr, sqes_size_, PROT_READ | PROT_WRITE,
                      MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQES);
    if (sqes == MAP_FAILED) return -errno;
    sqes_ = static_cast<io_uring_sqe*>(sqes);
    auto* sq = static_cast<uint8_t*>(sq_ptr_);
    auto* cq = static_cast<uint8_t*>(cq_ptr_);
    sq_khead_ = reinterpret_cast<unsigned*>(sq + p.sq_off.head);
    sq_ktail_ = reinterpret_cast<unsigned*>(sq + p.sq_off.tail);
    sq_kflags_ = reinterpret_cast<unsigned*>(sq + p.sq_off.flags);
    sq_mask_ = *reinterpret_cast<unsigned*>(sq + p.sq_off.ring_mask);
    sq_entries_ = p.sq_entries;
    auto* array = reinterpret_cast<unsigned*>(sq + p.sq_off.array);
    for (unsigned i = 0; i < p.sq_entries; i++) array[i] = i;
    sq_tail_ = *sq_ktail_;
    cq_khead_ = reinterpret_cast<unsigned*>(cq + p.cq_off.head);
    cq_ktail_ = reinterpret_cast<unsigned*>(cq + p.cq_off.tail);
    cq_kflags_ = p.cq_off.flags ? reinterpret_cast<unsigned*>(cq + p.cq_off.flags)
                                : nullptr;
    cq_mask_ = *reinterpret_cast<unsigned*>(cq + p.cq_off.ring_mask);
    cqes_ = reinterpret_cast<io_uring_cqe*>(cq + p.cq_off.cqes);
    // Operations in flight are bounded by the completion queue, not the
    // submission queue (a full SQ is submitted and reused at once): each
    // posts one CQE when it ends, so as many as the CQ holds can wait in the
    // kernel together, as reads waiting for their peers' writes must. The
    // ring's own cancels and link timeouts post more; NODROP keeps those if
    // the CQ overflows.
    capacity_ = p.cq_entries;
    return 0;
  }

  void Unmap() {
    if (sqes_ != nullptr) munmap(sqes_, sqes_size_);
    if (cq_ptr_ != nullptr && !single_mmap_) munmap(cq_ptr_, cq_size_);
    if (sq_ptr_ != nullptr) munmap(sq_ptr_, sq_size_);
    sqes_ = nullptr;
    cq_ptr_ = sq_ptr_ = nullptr;
  }

  // ---------------------------------------------------------- submission

  unsigned SqSpace() const {
    return sq_entries_ - (sq_tail_ - __atomic_load_n(sq_khead_, __ATOMIC_ACQUIRE));
  }

  // Room for `n` SQEs, submitting what is queued if that makes room.
  bool Reserve(unsigned n) {
    if (SqSpace() >= n) return true;
    Flush();
    return SqSpace() >= n;
  }

  io_uring_sqe* NextSqe() {
    io_uring_sqe* sqe = &sqes_[sq_tail_ & sq_mask_];
    memset(sqe, 0, sizeof(*sqe));
    sq_tail_++;
    return sqe;
  }

  // Publishes the prepared SQEs and enters the kernel to submit them.
  // Returns how many the kernel took, or -errno.
  long Flush() {
    __atomic_store_n(sq_ktail_, sq_tail_, __ATOMIC_RELEASE);
    unsigned pending = sq_tail_ - __atomic_load_n(sq_khead_, __ATOMIC_ACQUIRE);
    if (params_.flags & IORING_SETUP_SQPOLL) {
      // The kernel's poller thread takes them; it only needs waking if idle.
      if (__atomic_load_n(sq_kflags_, __ATOMIC_ACQUIRE) & IORING_SQ_NEED_WAKEUP)
        return Enter(fd_, 0, 0, IORING_ENTER_SQ_WAKEUP, nullptr, 0);
      return pending;
    }
    if (pending == 0 && !NeedsTaskRun()) return 0;
    unsigned flags = NeedsTaskRun() ? IORING_ENTER_GETEVENTS : 0;
    // Completions posted while in here are reaped right after, by the
    // caller: no need to wake the event loop for them.
    SetEventfdDisabled(true);
    // At most submit_batch_ SQEs per enter (0: all of them). Two or fewer
    // are not plugged by the block layer, so each O_DIRECT request reaches
    // the device at once instead of with the whole batch.
    long taken = 0;
    long r;
    do {
      unsigned n = submit_batch_ != 0 && pending > submit_batch_ ? submit_batch_ : pending;
      do {
        r = Enter(fd_, n, 0, flags, nullptr, 0);
      } while (r == -EINTR);
      if (r < 0) break;
      taken += r;
      pending -= static_cast<unsigned>(r);
      if (static_cast<unsigned long>(r) < n) break;
    } while (pending > 0);
    SetEventfdDisabled(false);
    // With DEFER_TASKRUN the kernel signals the eventfd only when its list
    // of deferred completions goes from empty to not: one that came while
    // the eventfd was off would leave every later one unsignalled.
    SignalIfTaskRunPending();
    return taken > 0 ? taken : r;
  }

  // Deferred completions left waiting (one io_uring_enter runs a few dozen
  // at most, and none came while the eventfd was off) signal no eventfd by
  // themselves: signal it, so the watcher comes back for them.
  void SignalIfTaskRunPending() {
    if (!(params_.flags & IORING_SETUP_DEFER_TASKRUN) || eventfd_ < 0 || !TaskRunPending())
      return;
    eventfd_write(eventfd_, 1);
  }

  // Completions wait for this thread to enter the kernel for events: with
  // DEFER_TASKRUN each submit enters for them (in the same syscall); a reap
  // enters only when the kernel's TASKRUN flag says some wait, which Open()
  // asks for with DEFER_TASKRUN (without DEFER_TASKRUN, only COOP_TASKRUN
  // with TASKRUN_FLAG sets it).
  bool NeedsTaskRun() const {
    return (params_.flags & IORING_SETUP_DEFER_TASKRUN) || TaskRunPending();
  }
  bool TaskRunPending() const {
    return __atomic_load_n(sq_kflags_, __ATOMIC_ACQUIRE) & IORING_SQ_TASKRUN;
  }

  void SetEventfdDisabled(bool off) {
    if (cq_kflags_ == nullptr) return;
    unsigned f = __atomic_load_n(cq_kflags_, __ATOMIC_RELAXED);
    f = off ? (f | IORING_CQ_EVENTFD_DISABLED) : (f & ~IORING_CQ_EVENTFD_DISABLED);
    __atomic_store_n(cq_kflags_, f, __ATOMIC_RELEASE);
  }

  // Decodes the leading slot argument and claims the slot for a new
  // operation needing `sqes` SQEs. Null with a pending exception, or with
  // *err = -errno for a state error.
  Op* Claim(const Napi::CallbackInfo& info, unsigned sqes, uint32_t* slot,
            long* err) {
    *err = 0;
    if (!ArgUint32(info, 0, slot)) return nullptr;
    if (fd_ < 0) {
      *err = -EBADF;
      return nullptr;
    }
    if (*slot >= capacity_) {
      ThrowRangeError(info.Env(), "slot is out of range for this ring");
      return nullptr;
    }
    Op* op = Slot(*slot);
    if (op->live) {
      *err = -EBUSY;
      return nullptr;
    }
    if (!Reserve(sqes)) {
      *err = -EAGAIN;
      return nullptr;
    }
    return op;
  }

  // The slot's record, made on first use.
  Op* Slot(uint32_t slot) {
    if (!ops_[slot]) ops_[slot].reset(new Op());
    return ops_[slot].get();
  }

  // Whether the slot holds an operation in flight.
  bool Live(uint32_t slot) const { return ops_[slot] && ops_[slot]->live; }

  uint64_t UserData(uint32_t slot) {
    return (static_cast<uint64_t>(Slot(slot)->generation) << 32) | slot;
  }

  // The trailing (timeoutMs, sqeFlags) pair every operation takes: -1 for
  // no timeout, else a link timeout; sqeFlags may hold IOSQE_FIXED_FILE.
  bool ArgTail(const Napi::CallbackInfo& info, size_t i, int64_t* timeout_ns,
               uint8_t* sqe_flags) {
    double ms;
    uint32_t flags;
    if (!info[i].IsNumber()) {
      ThrowTypeError(info.Env(), "timeoutMs must be a number");
      return false;
    }
    ms = info[i].As<Napi::Number>().DoubleValue();
    if (!(ms == -1 || (ms >= 0 && ms <= 2147483647.0))) {
      ThrowRangeError(info.Env(), "timeoutMs must be -1 or >= 0 && <= 2147483647");
      return false;
    }
    if (!ArgUint32(info, i + 1, &flags)) return false;
    if (flags & ~IOSQE_FIXED_FILE) {
      ThrowValueError(info.Env(), "sqeFlags may only hold IOSQE_FIXED_FILE");
      return false;
    }
    *timeout_ns = ms < 0 ? -1 : static_cast<int64_t>(ms * 1e6);
    *sqe_flags = static_cast<uint8_t>(flags);
    return true;
  }

  // Fills the SQE for a claimed slot, and its link timeout.
  void Commit(uint32_t slot, Op* op, io_uring_sqe* sqe, Kind kind,
              int64_t timeout_ns, uint8_t sqe_flags) {
    op->live = true;
    op->cancel_requested = false;
    op->kind = kind;
    op->link_timeout = timeout_ns >= 0;
    sqe->flags |= sqe_flags;
    sqe->user_data = UserData(slot);
    if (timeout_ns >= 0) {
      sqe->flags |= IOSQE_IO_LINK;
      op->ts.tv_sec = timeout_ns / 1000000000;
      op->ts.tv_nsec = timeout_ns % 1000000000;
      io_uring_sqe* t = NextSqe();
      t->opcode = IORING_OP_LINK_TIMEOUT;
      t->fd = -1;
      t->addr = reinterpret_cast<uint64_t>(&op->ts);
      t->len = 1;
      t->user_data = kInternal | UserData(slot);
    }
    inflight_++;
  }

  // A failed preparation releases what it pinned.
  Napi::Value Fail(Napi::Env env, Op* op, long err) {
    op->bounce.Finish(err, false);
    op->path.clear();
    return Result(env, err);
  }

  static unsigned Sqes(int64_t timeout_ns) { return timeout_ns >= 0 ? 2 : 1; }

  // The shape of read/write/recv/send: (slot, fd, view, offset, length,
  // position|flags, timeoutMs, sqeFlags).
  Napi::Value ReadWrite(const Napi::CallbackInfo& info, uint8_t opcode,
                        Kind kind, bool positional) {
    Napi::Env env = info.Env();
    int32_t fd;
    int64_t position = -1, ns;
    uint32_t msg_flags = 0;
    uint8_t sqe_flags;
    if (!ArgInt32(info, 1, &fd) ||
        (positional ? !ArgIntRange(info, 5, -1, INT64_MAX, &position)
                    : !ArgUint32(info, 5, &msg_flags)) ||
        !ArgTail(info, 6, &ns, &sqe_flags))
      return Napi::Value();
    uint32_t slot;
    long err;
    Op* op = Claim(info, Sqes(ns), &slot, &err);
    if (op == nullptr) return err ? Result(env, err) : Napi::Value();
    // The view last: nothing after this runs JS before the SQE is written.
    if (!op->bounce.PinRange(info, 2, kind == kWrite)) return Napi::Value();
    io_uring_sqe* sqe = NextSqe();
    sqe->opcode = opcode;
    sqe->fd = fd;
    sqe->addr = reinterpret_cast<uint64_t>(op->bounce.data());
    sqe->len = static_cast<uint32_t>(op->bounce.size());
    if (positional) sqe->off = static_cast<uint64_t>(position);
    else sqe->msg_flags = msg_flags;
    Commit(slot, op, sqe, kind, ns, sqe_flags);
    return Result(env, 0);
  }

  Napi::Value Read(const Napi::CallbackInfo& info) {
    return ReadWrite(info, IORING_OP_READ, kRead, true);
  }
  Napi::Value Write(const Napi::CallbackInfo& info) {
    return ReadWrite(info, IORING_OP_WRITE, kWrite, true);
  }
  Napi::Value Recv(const Napi::CallbackInfo& info) {
    return ReadWrite(info, IORING_OP_RECV, kRead, false);
  }
  Napi::Value Send(const Napi::CallbackInfo& info) {
    return ReadWrite(info, IORING_OP_SEND, kWrite, false);
  }

  // (slot, fd, views, position, timeoutMs, sqeFlags)
  Napi::Value Vectored(const Napi::CallbackInfo& info, uint8_t opcode, Kind kind) {
    Napi::Env env = info.Env();
    int32_t fd;
    int64_t position, ns;
    uint8_t sqe_flags;
    if (!ArgInt32(info, 1, &fd) || !ArgIntRange(info, 3, -1, INT64_MAX, &position) ||
        !ArgTail(info, 4, &ns, &sqe_flags))
      return Napi::Value();
    uint32_t slot;
    long err;
    Op* op = Claim(info, Sqes(ns), &slot, &err);
    if (op == nullptr) return err ? Result(env, err) : Napi::Value();
    if (!op->bounce.PinArray(info, 2, kind == kWrite)) return Napi::Value();
    io_uring_sqe* sqe = NextSqe();
    sqe->opcode = opcode;
    sqe->fd = fd;
    sqe->addr = reinterpret_cast<uint64_t>(op->bounce.iov());
    sqe->len = static_cast<uint32_t>(op->bounce.iovcnt());
    sqe->off = static_cast<uint64_t>(position);
    Commit(slot, op, sqe, kind, ns, sqe_flags);
    return Result(env, 0);
  }

  Napi::Value Readv(const Napi::CallbackInfo& info) {
    return Vectored(info, IORING_OP_READV, kRead);
  }
  Napi::Value Writev(const Napi::CallbackInfo& info) {
    return Vectored(info, IORING_OP_WRITEV, kWrite);
  }

  // fsync(slot, fd, datasync, timeoutMs, sqeFlags)
  Napi::Value Fsync(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int32_t fd;
    int64_t ns;
    uint8_t sqe_flags;
    bool datasync;
    if (!ArgInt32(info, 1, &fd) || !ArgBool(info, 2, &datasync) ||
        !ArgTail(info, 3, &ns, &sqe_flags))
      return Napi::Value();
    uint32_t slot;
    long err;
    Op* op = Claim(info, Sqes(ns), &slot, &err);
    if (op == nullptr) return err ? Result(env, err) : Napi::Value();
    io_uring_sqe* sqe = NextSqe();
    sqe->opcode = IORING_OP_FSYNC;
    sqe->fd = fd;
    sqe->fsync_flags = datasync ? IORING_FSYNC_DATASYNC : 0;
    Commit(slot, op, sqe, kPlain, ns, sqe_flags);
    return Result(env, 0);
  }

  // openat(slot, dirfd, path, flags, mode, timeoutMs, sqeFlags) -> the fd
  // in the completion. The path is copied into the slot.
  Napi::Value Openat(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int32_t dirfd, flags;
    uint32_t mode;
    int64_t ns;
    uint8_t sqe_flags;
    std::string path;
    if (!ArgInt32(info, 1, &dirfd) || !ArgPath(info, 2, &path) ||
        !ArgInt32(info, 3, &flags) || !ArgUint32(info, 4, &mode) ||
        !ArgTail(info, 5, &ns, &sqe_flags))
      return Napi::Value();
    uint32_t slot;
    long err;
    Op* op = Claim(info, Sqes(ns), &slot, &err);
    if (op == nullptr) return err ? Result(env, err) : Napi::Value();
    op->path = std::move(path);
    io_uring_sqe* sqe = NextSqe();
    sqe->opcode = IORING_OP_OPENAT;
    sqe->fd = dirfd;
    sqe->addr = reinterpret_cast<uint64_t>(op->path.c_str());
    sqe->len = mode;
    sqe->open_flags = static_cast<uint32_t>(flags);
    Commit(slot, op, sqe, kPlain, ns, sqe_flags);
    return Result(env, 0);
  }

  // closeFd(slot, fd, timeoutMs, sqeFlags): IORING_OP_CLOSE. An fd an
  // iomodes object owns (this ring's own among them) is refused, as close()
  // refuses it.
  Napi::Value CloseFd(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int32_t fd;
    int64_t ns;
    uint8_t sqe_flags;
    uint32_t slot;
    // The slot first: the owned-fd answer below must not stand in for a
    // bad one.
    if (!ArgUint32(info, 0, &slot) || !ArgInt32(info, 1, &fd) ||
        !ArgTail(info, 2, &ns, &sqe_flags))
      return Napi::Value();
    // file_index is the fixed file's index + 1, and 0 means "no fixed
    // file": the kernel would close sqe->fd (0) instead.
    if ((sqe_flags & IOSQE_FIXED_FILE) && fd < 0) {
      ThrowRangeError(env, "a fixed file index must be >= 0");
      return Napi::Value();
    }
    if (!(sqe_flags & IOSQE_FIXED_FILE) && IsOwnedFd(env_, fd))
      return Result(env, -EBUSY);
    long err;
    Op* op = Claim(info, Sqes(ns), &slot, &err);
    if (op == nullptr) return err ? Result(env, err) : Napi::Value();
    io_uring_sqe* sqe = NextSqe();
    sqe->opcode = IORING_OP_CLOSE;
    if (sqe_flags & IOSQE_FIXED_FILE) {
      sqe->file_index = static_cast<uint32_t>(fd) + 1;
      sqe_flags = 0;
    } else {
      sqe->fd = fd;
    }
    Commit(slot, op, sqe, kPlain, ns, sqe_flags);
    return Result(env, 0);
  }

  // statx(slot, dirfd, path, flags, mask, out, timeoutMs, sqeFlags): the
  // struct statx lands in `out` (at least sizeof(struct statx) bytes).
  Napi::Value Statx(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int32_t dirfd, flags;
    uint32_t mask;
    int64_t ns;
    uint8_t sqe_flags;
    std::string path;
    uint8_t* unused;
    // out is decoded with the rest (a TypeError for a non-view, a
    // RangeError if short), then pinned below, its length checked again
    // as it is then: nothing in between runs JS.
    if (!ArgInt32(info, 1, &dirfd) || !ArgPath(info, 2, &path) ||
        !ArgInt32(info, 3, &flags) || !ArgUint32(info, 4, &mask) ||
        !ArgOut(info, 5, sizeof(struct statx), &unused) ||
        !ArgTail(info, 6, &ns, &sqe_flags))
      return Napi::Value();
    uint32_t slot;
    long err;
    Op* op = Claim(info, Sqes(ns), &slot, &err);
    if (op == nullptr) return err ? Result(env, err) : Napi::Value();
    if (!op->bounce.PinValue(env, info[5], 0, sizeof(struct statx), false))
      return Napi::Value();
    op->path = std::move(path);
    op->copy_bytes = sizeof(struct statx);
    io_uring_sqe* sqe = NextSqe();
    sqe->opcode = IORING_OP_STATX;
    sqe->fd = dirfd;
    sqe->addr = reinterpret_cast<uint64_t>(op->path.c_str());
    sqe->len = mask;
    sqe->statx_flags = static_cast<uint32_t>(flags);
    sqe->off = reinterpret_cast<uint64_t>(op->bounce.data());
    Commit(slot, op, sqe, kStatx, ns, sqe_flags);
    return Result(env, 0);
  }

  // accept(slot, fd, flags, timeoutMs, sqeFlags) -> the new fd.
  Napi::Value Accept(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int32_t fd, flags;
    int64_t ns;
    uint8_t sqe_flags;
    if (!ArgInt32(info, 1, &fd) || !ArgInt32(info, 2, &flags) ||
        !ArgTail(info, 3, &ns, &sqe_flags))
      return Napi::Value();
    uint32_t slot;
    long err;
    Op* op = Claim(info, Sqes(ns), &slot, &err);
    if (op == nullptr) return err ? Result(env, err) : Napi::Value();
    io_uring_sqe* sqe = NextSqe();
    sqe->opcode = IORING_OP_ACCEPT;
    sqe->fd = fd;
    sqe->accept_flags = static_cast<uint32_t>(flags);
    Commit(slot, op, sqe, kPlain, ns, sqe_flags);
    return Result(env, 0);
  }

  // connect(slot, fd, family, host, port, timeoutMs, sqeFlags)
  Napi::Value Connect(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int32_t fd;
    int64_t ns;
    uint8_t sqe_flags;
    sockaddr_storage ss;
    unsigned len;
    long bad;
    uint32_t slot;
    // The slot first: an address's -errno must not stand in for a bad one.
    if (!ArgUint32(info, 0, &slot) || !ArgInt32(info, 1, &fd) ||
        !ArgSockaddr(info, 2, &ss, &len, &bad) || !ArgTail(info, 5, &ns, &sqe_flags))
      return Napi::Value();
    if (bad) return Result(env, bad);
    long err;
    Op* op = Claim(info, Sqes(ns), &slot, &err);
    if (op == nullptr) return err ? Result(env, err) : Napi::Value();
    op->addr = ss;
    io_uring_sqe* sqe = NextSqe();
    sqe->opcode = IORING_OP_CONNECT;
    sqe->fd = fd;
    sqe->addr = reinterpret_cast<uint64_t>(&op->addr);
    sqe->off = len;
    Commit(slot, op, sqe, kPlain, ns, sqe_flags);
    return Result(env, 0);
  }

  // poll(slot, fd, events, multishot, timeoutMs, sqeFlags) -> revents; a
  // multishot poll reports each readiness with `more` set until it ends.
  Napi::Value PollAdd(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int32_t fd;
    uint32_t events;
    int64_t ns;
    uint8_t sqe_flags;
    bool multishot;
    if (!ArgInt32(info, 1, &fd) || !ArgUint32(info, 2, &events) ||
        !ArgBool(info, 3, &multishot) || !ArgTail(info, 4, &ns, &sqe_flags))
      return Napi::Value();
    if (multishot && ns >= 0) {
      ThrowValueError(env, "a multishot poll takes no timeout");
      return Napi::Value();
    }
    uint32_t slot;
    long err;
    Op* op = Claim(info, Sqes(ns), &slot, &err);
    if (op == nullptr) return err ? Result(env, err) : Napi::Value();
    io_uring_sqe* sqe = NextSqe();
    sqe->opcode = IORING_OP_POLL_ADD;
    sqe->fd = fd;
    sqe->poll32_events = events;
    sqe->len = multishot ? IORING_POLL_ADD_MULTI : 0;
    Commit(slot, op, sqe, kPlain, ns, sqe_flags);
    return Result(env, 0);
  }

  // timeout(slot, ms): completes with 0 when `ms` have passed.
  Napi::Value Timeout(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int64_t ns;
    uint8_t unused;
    if (!ArgTail(info, 1, &ns, &unused)) return Napi::Value();
    if (ns < 0) {
      ThrowRangeError(env, "ms must be >= 0 && <= 2147483647");
      return Napi::Value();
    }
    uint32_t slot;
    long err;
    Op* op = Claim(info, 1, &slot, &err);
    if (op == nullptr) return err ? Result(env, err) : Napi::Value();
    op->ts.tv_sec = ns / 1000000000;
    op->ts.tv_nsec = ns % 1000000000;
    io_uring_sqe* sqe = NextSqe();
    sqe->opcode = IORING_OP_TIMEOUT;
    sqe->fd = -1;
    sqe->addr = reinterpret_cast<uint64_t>(&op->ts);
    sqe->len = 1;
    Commit(slot, op, sqe, kTimeout, -1, 0);
    return Result(env, 0);
  }

  // cancelFd(slot, fd, sqeFlags) -> how many operations on fd were
  // cancelled (IORING_ASYNC_CANCEL_FD | ALL).
  Napi::Value CancelFd(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int32_t fd;
    uint32_t flags;
    if (!ArgInt32(info, 1, &fd) || !ArgUint32(info, 2, &flags)) return Napi::Value();
    if (flags & ~IOSQE_FIXED_FILE) {
      ThrowValueError(env, "sqeFlags may only hold IOSQE_FIXED_FILE");
      return Napi::Value();
    }
    uint32_t slot;
    long err;
    Op* op = Claim(info, 1, &slot, &err);
    if (op == nullptr) return err ? Result(env, err) : Napi::Value();
    io_uring_sqe* sqe = NextSqe();
    sqe->opcode = IORING_OP_ASYNC_CANCEL;
    sqe->fd = fd;
    sqe->cancel_flags = IORING_ASYNC_CANCEL_FD | IORING_ASYNC_CANCEL_ALL |
                        ((flags & IOSQE_FIXED_FILE) ? IORING_ASYNC_CANCEL_FD_FIXED : 0);
    Commit(slot, op, sqe, kPlain, -1, 0);
    return Result(env, 0);
  }

  // cancel(slot) -> 0 | -errno: asks the kernel to cancel the slot's
  // operation (IORING_OP_ASYNC_CANCEL). Its completion still comes, with
  // -ECANCELED, or its result if the cancel lost the race.
  Napi::Value Cancel(const Napi::CallbackInfo& info) {
    uint32_t slot;
    if (!ArgUint32(info, 0, &slot)) return Napi::Value();
    return Result(info.Env(), CancelSlot(slot));
  }

  long CancelSlot(uint32_t slot) {
    if (fd_ < 0) return -EBADF;
    if (slot >= capacity_ || !Live(slot)) return -ENOENT;
    Op* op = Slot(slot);
    if (op->cancel_requested) return 0;
    if (!Reserve(1)) return -EAGAIN;
    op->cancel_requested = true;
    io_uring_sqe* sqe = NextSqe();
    sqe->opcode = IORING_OP_ASYNC_CANCEL;
    sqe->fd = -1;
    sqe->addr = UserData(slot);
    sqe->user_data = kInternal | UserData(slot);
    return 0;
  }

  // submit() -> SQEs the kernel took | -errno.
  Napi::Value Submit(const Napi::CallbackInfo& info) {
    if (fd_ < 0) return Result(info.Env(), -EBADF);
    return Result(info.Env(), Flush());
  }

  // reap(out: Float64Array, wokenByEventfd) -> n: the first n (slot, result, more) triples
  // of `out` are completions, buffers already copied back. `more` is 1
  // when a multishot operation goes on. Drains the eventfd first, so a
  // completion posted after this call wakes the watcher again.
  Napi::Value Reap(const Napi::CallbackInfo& info) {
    uint8_t* out;
    size_t len;
    bool woken;
    if (!ArgBool(info, 1, &woken) || !ArgBytes(info, 0, &out, &len))
      return Napi::Value();
    if (fd_ < 0) return Result(info.Env(), 0);
    // No room for one triple (a detached buffer's data is null, which
    // Drain takes for teardown): reap nothing, and leave the eventfd set.
    size_t max = len / (3 * sizeof(double));
    if (max == 0) return Result(info.Env(), 0);
    // The eventfd is drained only when it woke the caller (wokenBy truthy):
    // after submit() it was disabled, and reading it would be a wasted
    // syscall per batch.
    uint64_t drained;
    if (woken && eventfd_ >= 0)
      (void)!read(eventfd_, &drained, sizeof(drained));
    // Deferred task work runs, and polled completions are found, only when
    // this thread enters the kernel for events.
    if ((TaskRunPending() || (params_.flags & IORING_SETUP_IOPOLL)) &&
        !(params_.flags & IORING_SETUP_SQPOLL))
      Enter(fd_, 0, 0, IORING_ENTER_GETEVENTS, nullptr, 0);
    SignalIfTaskRunPending();
    size_t n = Drain(out, max, true);
    // Completions that found the queue full (link timeouts and cancels post
    // their own, beyond one per operation) wait on the kernel's overflow
    // list, and only an io_uring_enter for events moves them into the room
    // just drained. Without it they, and every later one, never arrive.
    if (n < max && (__atomic_load_n(sq_kflags_, __ATOMIC_ACQUIRE) & IORING_SQ_CQ_OVERFLOW)) {
      Enter(fd_, 0, 0, IORING_ENTER_GETEVENTS, nullptr, 0);
      n += Drain(out + n * 3 * sizeof(double), max - n, true);
    }
    return Result(info.Env(), static_cast<long>(n));
  }

  // Reaps up to `max` CQEs into `out` triples (or, with out null, only
  // settles them natively: teardown). Returns how many triples.
  size_t Drain(uint8_t* out, size_t max, bool copy_out) {
    unsigned head = *cq_khead_;
    unsigned tail = __atomic_load_n(cq_ktail_, __ATOMIC_ACQUIRE);
    size_t n = 0;
    while (head != tail && (out == nullptr || n < max)) {
      io_uring_cqe* cqe = &cqes_[head & cq_mask_];
      head++;
      uint64_t ud = cqe->user_data;
      if (ud & kInternal) continue;
      uint32_t slot = static_cast<uint32_t>(ud);
      if (slot >= capacity_) continue;
      if (!ops_[slot]) continue;
      Op* op = ops_[slot].get();
      if (!op->live || op->generation != static_cast<uint32_t>(ud >> 32)) continue;
      long res = cqe->res;
      bool more = (cqe->flags & IORING_CQE_F_MORE) != 0;
      if (!more) {
        res = Settle(op, res, copy_out);
        if (op->fixed) {
          op->fixed = false;
          fixed_inflight_--;
        }
        op->live = false;
        op->generation++;
        op->path.clear();
        inflight_--;
      }
      if (out != nullptr) {
        double triple[3] = {static_cast<double>(slot), static_cast<double>(res),
                            more ? 1.0 : 0.0};
        memcpy(out + n * sizeof(triple), triple, sizeof(triple));
      }
      n++;
    }
    __atomic_store_n(cq_khead_, head, __ATOMIC_RELEASE);
    return n;
  }

  long Settle(Op* op, long res, bool copy_out) {
    if (op->kind == kTimeout && res == -ETIME) res = 0;
    // A link timeout that fired cancels the operation: say so as ETIME,
    // unless the caller had asked for the cancel.
    if (op->link_timeout && res == -ECANCELED && !op->cancel_requested)
      res = -ETIME;
    if (!copy_out) return op->bounce.Finish(res, false);
    if (op->kind == kStatx) return op->bounce.FinishCopy(res, op->copy_bytes);
    return op->bounce.Finish(res, op->kind == kRead);
  }

  // wait(timeoutMs) -> 0 | -errno (-ETIME when it timed out): blocks until
  // a completion is ready. For close(), which must wait for cancelled
  // operations to let go of their buffers.
  Napi::Value Wait(const Napi::CallbackInfo& info) {
    int64_t ms;
    if (!ArgIntRange(info, 0, 0, INT32_MAX, &ms)) return Napi::Value();
    if (fd_ < 0) return Result(info.Env(), -EBADF);
    return Result(info.Env(), WaitCqe(ms));
  }

  long WaitCqe(int64_t ms) {
    Flush();
    if (__atomic_load_n(cq_ktail_, __ATOMIC_ACQUIRE) != *cq_khead_) return 0;
    __kernel_timespec ts{ms / 1000, (ms % 1000) * 1000000};
    io_uring_getevents_arg arg{};
    arg.ts = reinterpret_cast<uint64_t>(&ts);
    return Enter(fd_, 0, 1, IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, &arg,
                 sizeof(arg));
  }

  // registerFiles(fds: Int32Array) -> 0 | -errno.
  Napi::Value RegisterFiles(const Napi::CallbackInfo& info) {
    uint8_t* data;
    size_t len;
    if (!ArgBytes(info, 0, &data, &len)) return Napi::Value();
    if (fd_ < 0) return Result(info.Env(), -EBADF);
    size_t n = len / sizeof(int32_t);
    if (n == 0 || n > 65536) return Result(info.Env(), -EINVAL);
    std::vector<int32_t> fds(n);
    memcpy(fds.data(), data, n * sizeof(int32_t));
    return Result(info.Env(),
                  IOMODES_ERRNO(syscall(__NR_io_uring_register, fd_,
                                        IORING_REGISTER_FILES, fds.data(), n)));
  }

  Napi::Value UnregisterFiles(const Napi::CallbackInfo& info) {
    if (fd_ < 0) return Result(info.Env(), -EBADF);
    return Result(info.Env(),
                  IOMODES_ERRNO(syscall(__NR_io_uring_register, fd_,
                                        IORING_UNREGISTER_FILES, nullptr, 0)));
  }

  // registerBuffers(count, size) -> 0 | -errno: maps `count` buffers of
  // `size` bytes and registers them (IORING_REGISTER_BUFFERS). A ring that
  // has some already gets the kernel's -EBUSY, its first set untouched.
  Napi::Value RegisterBuffers(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int64_t count, size;
    if (!ArgIntRange(info, 0, 1, kMaxFixedBuffers, &count) ||
        !ArgIntRange(info, 1, 1, kMaxFixedBufferSize, &size))
      return Napi::Value();
    if (fd_ < 0) return Result(env, -EBADF);
    size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    size_t stride = (static_cast<size_t>(size) + page - 1) / page * page;
    size_t total = stride * static_cast<size_t>(count);
    void* p = mmap(nullptr, total, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return Result(env, -errno);
    // A child made by fork() (child_process) gets none of it: no copy of
    // pinned pages at each spawn.
    (void)madvise(p, total, MADV_DONTFORK);
    auto* base = static_cast<uint8_t*>(p);
    std::vector<struct iovec> iov(static_cast<size_t>(count));
    for (size_t i = 0; i < iov.size(); i++)
      iov[i] = {base + i * stride, static_cast<size_t>(size)};
    long r = IOMODES_ERRNO(syscall(__NR_io_uring_register, fd_,
                                   IORING_REGISTER_BUFFERS, iov.data(),
                                   static_cast<unsigned>(count)));
    if (r < 0) {
      munmap(p, total);
      return Result(env, r);
    }
    // Not reached with a set already registered (the kernel said EBUSY);
    // if it were, the old set is leaked rather than freed under the kernel.
    if (fixed_) LeakFixed();
    fixed_.reset(new FixedBuffers{base, total, stride,
                                  static_cast<uint32_t>(count),
                                  static_cast<uint32_t>(size)});
    return Result(env, 0);
  }

  // unregisterBuffers() -> 0 | -errno (-EBUSY while an operation using them
  // is prepared or in flight; the kernel's -ENXIO when none are registered).
  Napi::Value UnregisterBuffers(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (fd_ < 0) return Result(env, -EBADF);
    // Refused rather than waited for: the kernel's unregister may wait for
    // in-flight users itself, and a fixed read on an idle pipe never ends.
    if (fixed_inflight_ > 0) return Result(env, -EBUSY);
    long r = IOMODES_ERRNO(syscall(__NR_io_uring_register, fd_,
                                   IORING_UNREGISTER_BUFFERS, nullptr, 0));
    if (r == 0 && fixed_) FreeFixed();
    return Result(env, r);
  }

  void FreeFixed() {
    munmap(fixed_->base, fixed_->map_size);
    fixed_.reset();
  }

  // The kernel may still use the mapping: it stays, counted.
  void LeakFixed() {
    LeakOnPurpose(nullptr);  // an mmap: LeakSanitizer does not track those
    fixed_.reset();
  }

  Napi::Value ReadFixed(const Napi::CallbackInfo& info) {
    return Fixed(info, false);
  }
  Napi::Value WriteFixed(const Napi::CallbackInfo& info) {
    return Fixed(info, true);
  }

  // readFixed/writeFixed(slot, fd, view | null, offset, length, position,
  // bufIndex, bufOffset, timeoutMs, sqeFlags): IORING_OP_READ_FIXED /
  // _WRITE_FIXED of `length` bytes at `bufOffset` in registered buffer
  // `bufIndex`. A read's bytes are copied into the view at `offset` when it
  // is reaped; a write copies the view's bytes into the registered buffer
  // now. With a null view (offset 0) no JS memory is involved: a read leaves
  // its bytes in the registered buffer, a write sends what is there.
  // -EFAULT (the kernel's answer) when no buffers are registered.
  Napi::Value Fixed(const Napi::CallbackInfo& info, bool write) {
    Napi::Env env = info.Env();
    uint32_t slot, index;
    int32_t fd;
    int64_t off, len, position, buf_off, ns;
    uint8_t sqe_flags;
    if (!ArgUint32(info, 0, &slot) || !ArgInt32(info, 1, &fd) ||
        !ArgInt64(info, 3, &off) || !ArgInt64(info, 4, &len) ||
        !ArgIntRange(info, 5, -1, INT64_MAX, &position) ||
        !ArgUint32(info, 6, &index) ||
        !ArgIntRange(info, 7, 0, INT64_MAX, &buf_off) ||
        !ArgTail(info, 8, &ns, &sqe_flags))
      return Napi::Value();
    // The view's bytes last: no decoder above runs JS, and nothing from
    // here to the memcpy / PinBorrowed below does.
    bool has_view = !info[2].IsNull();
    uint8_t* base = nullptr;
    size_t vlen = 0;
    if (has_view && !ArgBytes(info, 2, &base, &vlen)) return Napi::Value();
    if (off < 0 || len < 0 ||
        (has_view ? static_cast<uint64_t>(off) > vlen ||
                        static_cast<uint64_t>(len) > vlen - static_cast<uint64_t>(off)
                  : off != 0)) {
      ThrowRangeError(env, "offset and length must lie inside the buffer");
      return Napi::Value();
    }
    if (fd_ >= 0 && fixed_) {
      if (index >= fixed_->count) {
        ThrowRangeError(env, "bufIndex is out of range for the registered buffers");
        return Napi::Value();
      }
      if (static_cast<uint64_t>(buf_off) > fixed_->size ||
          static_cast<uint64_t>(len) > fixed_->size - static_cast<uint64_t>(buf_off)) {
        ThrowRangeError(env, "bufOffset and length must lie inside the registered buffer");
        return Napi::Value();
      }
    }
    long err;
    Op* op = Claim(info, Sqes(ns), &slot, &err);
    if (op == nullptr) return err ? Result(env, err) : Napi::Value();
    if (!fixed_) return Result(env, -EFAULT);
    uint8_t* mem = fixed_->base + static_cast<size_t>(index) * fixed_->stride +
                   static_cast<size_t>(buf_off);
    if (has_view && write) {
      if (len > 0) memcpy(mem, base + off, static_cast<size_t>(len));
    } else if (has_view) {
      if (!op->bounce.PinBorrowed(env, info[2], static_cast<size_t>(off),
                                  static_cast<size_t>(len), mem))
        return Napi::Value();
    }
    io_uring_sqe* sqe = NextSqe();
    sqe->opcode = write ? IORING_OP_WRITE_FIXED : IORING_OP_READ_FIXED;
    sqe->fd = fd;
    sqe->addr = reinterpret_cast<uint64_t>(mem);
    sqe->len = static_cast<uint32_t>(len);
    sqe->off = static_cast<uint64_t>(position);
    sqe->buf_index = static_cast<uint16_t>(index);
    op->fixed = true;
    fixed_inflight_++;
    Commit(slot, op, sqe, write ? kWrite : kRead, ns, sqe_flags);
    return Result(env, 0);
  }

  // close() -> leaked: operations still in flight are abandoned (their
  // buffers leaked and counted); the JS side cancels and reaps first, for
  // as long as it is willing to wait.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    return Result(info.Env(), static_cast<long>(Shutdown()));
  }

  size_t Shutdown() {
    if (fd_ < 0) {
      closed_ = true;
      return 0;
    }
    size_t leaked = 0;
    // Whether an abandoned operation may still use the registered buffers.
    bool fixed_busy = fixed_inflight_ > 0;
    for (uint32_t i = 0; i < capacity_; i++) {
      if (Live(i)) {
        ops_[i]->bounce.Abandon();
        ops_[i]->live = false;
        ops_[i]->fixed = false;
        leaked++;
      }
    }
    inflight_ = 0;
    fixed_inflight_ = 0;
    AddonData* data = GetAddonData(env_);
    if (data != nullptr) {
      data->owned_fds.erase(fd_);
      data->owned_fds.erase(eventfd_);
    }
    Unmap();
    // Closing the ring makes the kernel cancel and reap whatever remains on
    // its own; the leaked bounce buffers are what it may still write into.
    close(eventfd_);
    close(fd_);
    fd_ = eventfd_ = -1;
    closed_ = true;
    // With nothing in flight on them the kernel will not touch the
    // registered buffers again (closing the ring drops its pins on its own
    // time; unmapping before then only drops ours).
    if (fixed_) {
      if (fixed_busy) LeakFixed();
      else FreeFixed();
    }
    return leaked;
  }

  // At env teardown (Worker exit): cancel, wait up to 2 s, then close.
  static void OnTeardown(void* arg) {
    auto* ring = static_cast<Ring*>(arg);
    ring->hook_added_ = false;
    if (ring->fd_ < 0) return;
    for (uint32_t i = 0; i < ring->capacity_; i++)
      if (ring->Live(i)) ring->CancelSlot(i);
    timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    while (ring->inflight_ > 0) {
      clock_gettime(CLOCK_MONOTONIC, &now);
      int64_t spent = (now.tv_sec - start.tv_sec) * 1000 +
                      (now.tv_nsec - start.tv_nsec) / 1000000;
      if (spent >= 2000) break;
      long r = ring->WaitCqe(2000 - spent);
      ring->Drain(nullptr, 0, false);
      if (r < 0 && r != -ETIME && r != -EINTR) break;
    }
    ring->Shutdown();
  }

  Napi::Value GetEventfd(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), eventfd_);
  }
  Napi::Value GetFd(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), fd_);
  }
  Napi::Value GetCapacity(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), capacity_);
  }
  // The registered buffers' count and size, 0 when none are.
  Napi::Value GetBufferCount(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), fixed_ ? fixed_->count : 0);
  }
  Napi::Value GetBufferSize(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), fixed_ ? fixed_->size : 0);
  }
  // info -> { sqEntries, cqEntries, features, flags }
  Napi::Value GetInfo(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    o.Set("sqEntries", Napi::Number::New(env, params_.sq_entries));
    o.Set("cqEntries", Napi::Number::New(env, params_.cq_entries));
    o.Set("features", Napi::Number::New(env, params_.features));
    o.Set("flags", Napi::Number::New(env, params_.flags));
    return o;
  }

  napi_env env_;
  int fd_ = -1;
  int eventfd_ = -1;
  uint32_t submit_batch_ = 0;
  bool closed_ = false;
  bool hook_added_ = false;
  io_uring_params params_{};
  std::vector<std::unique_ptr<Op>> ops_;
  uint32_t capacity_ = 0;
  uint32_t inflight_ = 0;
  std::unique_ptr<FixedBuffers> fixed_;
  // Operations prepared or in flight on the registered buffers.
  uint32_t fixed_inflight_ = 0;

  void* sq_ptr_ = nullptr;
  void* cq_ptr_ = nullptr;
  size_t sq_size_ = 0, cq_size_ = 0, sqes_size_ = 0;
  bool single_mmap_ = false;
  io_uring_sqe* sqes_ = nullptr;
  unsigned* sq_khead_ = nullptr;
  unsigned* sq_ktail_ = nullptr;
  unsigned* sq_kflags_ = nullptr;
  unsigned sq_mask_ = 0, sq_entries_ = 0, sq_tail_ = 0;
  unsigned* cq_khead_ = nullptr;
  unsigned* cq_ktail_ = nullptr;
  unsigned* cq_kflags_ = nullptr;
  unsigned cq_mask_ = 0;
  io_uring_cqe* cqes_ = nullptr;
};

const napi_type_tag Ring::kTag = {0x696f6d6f64657372ULL, 0x696e677269736e67ULL};

}  // namespace

void
InitUring(Napi::Env env, Napi::Object exports, Napi::Object constants) {
  exports.Set("Ring", Ring::Define(env));
#define C(name) constants.Set(#name, Napi::Number::New(env, name))
  C(IORING_SETUP_IOPOLL); C(IORING_SETUP_SQPOLL); C(IORING_SETUP_SQ_AFF);
  C(IORING_SETUP_CQSIZE); C(IORING_SETUP_CLAMP); C(IORING_SETUP_SUBMIT_ALL);
  C(IORING_SETUP_COOP_TASKRUN); C(IORING_SETUP_TASKRUN_FLAG);
  C(IORING_SETUP_SINGLE_ISSUER); C(IORING_SETUP_DEFER_TASKRUN);
  C(IOSQE_FIXED_FILE);
#undef C
  constants.Set("IOMODES_RING_MAX_BUFFERS",
                Napi::Number::New(env, static_cast<double>(kMaxFixedBuffers)));
  constants.Set("IOMODES_RING_MAX_BUFFER_SIZE",
                Napi::Number::New(env, static_cast<double>(kMaxFixedBufferSize)));
}

}  // namespace iomodes
