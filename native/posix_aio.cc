// POSIX AIO: the textbook asynchronous model of <aio.h>, as glibc
// implements it -- not in the kernel, but with a pool of user threads that
// run pread/pwrite/fsync (glibc's rt/aio_misc.c). The calls used:
//
// - aio_read/aio_write are prepared per operation (a struct aiocb each) and
//   handed to glibc in one lio_listio(LIO_NOWAIT) per JS turn (submit());
// - aio_fsync(O_SYNC / O_DSYNC) for fsync/fdatasync (lio_listio has no
//   fsync opcode), issued in order after the reads and writes prepared
//   before it, so "write, then fsync" in one turn syncs the write;
// - completion: each aiocb asks for SIGEV_THREAD notification. glibc's
//   worker, having stored the result in the aiocb, starts a (detached)
//   thread that runs Notify() below: it moves the operation to a
//   mutex-protected completion list and writes this object's eventfd, which
//   the loop thread's watcher sees. No JS ever runs off the loop thread;
//   aio_error/aio_return are read on the loop thread, in reap();
// - aio_cancel for close() (an abort only withdraws what is not yet
//   submitted: see Cancel), aio_suspend for close()'s bounded
//   wait.
//
// readv/writev: POSIX AIO has no vectored operation. The Bounce lays the
// views out contiguously (PinArray), so one aio_read/aio_write of the total
// length covers them; Bounce::Finish scatters a read's bytes on reap.
//
// Non-seekable fds (pipes, sockets): glibc's worker calls pread/pwrite, and
// on ESPIPE falls back to read/write, ignoring aio_offset. So a position is
// always required (aio_offset exists), and on a pipe any position (0) reads
// or writes the stream. Tested in test/async/posix-aio.test.ts.
//
// Memory that outlives this object (the reason for `Shared`): a notify
// thread may still be starting, or glibc's worker still be running an
// operation that aio_cancel could not stop (a read on an empty pipe), when
// close() returns or the Worker's env is torn down. So every aiocb (in its
// Op) and the completion list live outside the PosixAio, in a Shared block
// counted by references: one for the owner, one per operation glibc
// accepted. Notify() drops its operation's reference last; whoever drops the
// last reference deletes the block. An Op is freed by exactly one party:
// the owner, for operations glibc never accepted or that Notify() handed it
// through the completion list; or Notify() itself, once the owner has
// closed (or orphaned the Op), so a notification after close() touches only
// memory that is still allocated and writes no fd (the eventfd is closed
// only after `closed` is set under the mutex, and Notify() writes it only
// under the mutex while `closed` is false). The bounce buffer of an
// operation close() could not confirm is leaked (Bounce::Abandon, counted),
// because glibc's thread may still write into it.
#include <aio.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

#include "addon.h"
#include "inflight.h"
#include "wrap.h"

namespace iomodes {

namespace {

struct Shared;

// One operation as glibc sees it. cb first: glibc only ever holds &cb.
struct Op {
  struct aiocb cb;
  Shared* shared = nullptr;
  uint32_t slot = 0;
  // Both under Shared::mu.
  bool notified = false;  // Notify() ran (or is running)
  bool orphan = false;    // the owner settled it without a notification
};

struct Shared {
  std::mutex mu;
  bool closed = false;   // under mu: no more eventfd writes, Notify frees
  int efd = -1;          // written under mu while !closed
  std::vector<Op*> done; // under mu: notified, for the owner to reap
  std::atomic<long> refs{1};

  void Ref() { refs.fetch_add(1, std::memory_order_relaxed); }
  void Unref() {
    if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }
};

// Runs on a thread glibc starts for each completion (SIGEV_THREAD), with
// every signal blocked (glibc's workers block them all, and a new thread
// inherits the mask). Touches only the Op and its Shared block, both alive
// until this returns (see the file comment).
void
Notify(union sigval value) {
  Op* op = static_cast<Op*>(value.sival_ptr);
  Shared* s = op->shared;
  bool mine = false;
  {
    std::lock_guard<std::mutex> lock(s->mu);
    op->notified = true;
    if (s->closed || op->orphan) {
      mine = true;
    } else {
      s->done.push_back(op);
      uint64_t one = 1;
      // Non-blocking: the counter cannot overflow in practice, and a failed
      // write only means the loop is already due to wake.
      ssize_t r = write(s->efd, &one, sizeof(one));
      (void)r;
    }
  }
  if (mine) delete op;
  s->Unref();
}

// Detached notify threads with a small stack: Notify needs little, and
// glibc reuses cached stacks of a size it has seen. glibc reads these
// attributes from the aiocb when it starts the thread, so they live for
// the process.
pthread_attr_t*
NotifyAttr() {
  static pthread_attr_t attr;
  static std::once_flag once;
  std::call_once(once, [] {
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256 * 1024);
  });
  return &attr;
}

const napi_type_tag kPosixAioTag = {0x696f6d6f64657370ULL, 0x6f73697861696f31ULL};

constexpr uint32_t kMaxCapacity = 65536;

class PosixAio {
 public:
  static constexpr const char* kName = "PosixAio";
  static const napi_type_tag kTag;

  static PosixAio* Create(const Napi::CallbackInfo& info) {
    return new PosixAio(info.Env());
  }

  void Wrapped(napi_env, napi_value) {}

  ~PosixAio() {
    // Only reached closed (an open object holds a reference to itself),
    // except if the env went away without its cleanup hook: then leave
    // every operation's memory alone -- glibc may still use it.
    if (shared_ != nullptr) {
      napi_remove_env_cleanup_hook(env_, Teardown, this);
      for (uint32_t i = 0; i < capacity_; i++) slots_[i].bounce.Abandon();
    }
  }

  static Napi::Value Define(napi_env env) {
    static const napi_property_descriptor props[] = {
        Wrap<PosixAio>::Method<&PosixAio::Open>("open"),
        Wrap<PosixAio>::Method<&PosixAio::Read>("read"),
        Wrap<PosixAio>::Method<&PosixAio::Write>("write"),
        Wrap<PosixAio>::Method<&PosixAio::Readv>("readv"),
        Wrap<PosixAio>::Method<&PosixAio::Writev>("writev"),
        Wrap<PosixAio>::Method<&PosixAio::Fsync>("fsync"),
        Wrap<PosixAio>::Method<&PosixAio::Fdatasync>("fdatasync"),
        Wrap<PosixAio>::Method<&PosixAio::Submit>("submit"),
        Wrap<PosixAio>::Method<&PosixAio::Cancel>("cancel"),
        Wrap<PosixAio>::Method<&PosixAio::Reap>("reap"),
        Wrap<PosixAio>::Method<&PosixAio::Close>("close"),
        Wrap<PosixAio>::Getter<&PosixAio::GetEventfd>("eventfd"),
    };
    return Wrap<PosixAio>::Define(env, props);
  }

 private:
  enum class State { kNew, kOpen, kClosed };
  enum class Kind { kRead, kWrite, kFsync };
  enum class SlotState { kFree, kPrepared, kInFlight, kReady };

  struct Slot {
    SlotState state = SlotState::kFree;
    Kind kind = Kind::kRead;
    int sync_op = 0;         // O_SYNC or O_DSYNC, for kFsync
    bool cancelled = false;  // cancel() before submit()
    Op* op = nullptr;        // kPrepared, kInFlight
    long result = 0;         // kReady
    Bounce bounce;
  };

  explicit PosixAio(napi_env env) : env_(env) {}

  bool IsOpen() const { return state_ == State::kOpen; }

  // open(capacity) -> 0 | -errno: the eventfd and the slot table.
  Napi::Value Open(const Napi::CallbackInfo& info) {
    int64_t capacity;
    if (!ArgIntRange(info, 0, 1, kMaxCapacity, &capacity)) return Napi::Value();
    if (state_ != State::kNew)
      return Result(info.Env(), state_ == State::kOpen ? -EALREADY : -EBADF);
    int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (efd == -1) return Result(info.Env(), -errno);
    AddonData* data = GetAddonData(env_);
    if (data == nullptr) {
      close(efd);
      return Result(info.Env(), -EINVAL);
    }
    // Owned (fd.cc): a plain close() of it is refused, and only this
    // object (or its cleanup hook) closes it.
    generation_ = data->next_generation++;
    data->owned_fds[efd] = generation_;
    shared_ = new Shared();
    shared_->efd = efd;
    capacity_ = static_cast<uint32_t>(capacity);
    slots_.reset(new Slot[capacity_]);
    NotifyAttr();
    state_ = State::kOpen;
    // While open, the object holds itself (as an active handle does), so
    // the finalizer never runs before close() or the cleanup hook.
    napi_create_reference(env_, info.This(), 1, &self_);
    napi_add_env_cleanup_hook(env_, Teardown, this);
    return Result(info.Env(), 0);
  }

  // The slot argument at info[0]: RangeError past capacity, -EBUSY in use.
  // Call only when open. 0 if usable.
  long CheckSlot(const Napi::CallbackInfo& info, uint32_t slot, bool* threw) {
    *threw = false;
    if (slot >= capacity_) {
      ThrowRangeError(info.Env(), "argument 0 (slot) must be below the capacity");
      *threw = true;
      return 0;
    }
    return slots_[slot].state == SlotState::kFree ? 0 : -EBUSY;
  }

  Op* NewOp(uint32_t slot, int fd) {
    Op* op = new Op();
    memset(&op->cb, 0, sizeof(op->cb));
    op->cb.aio_fildes = fd;
    op->cb.aio_sigevent.sigev_notify = SIGEV_THREAD;
    op->cb.aio_sigevent.sigev_notify_function = Notify;
    op->cb.aio_sigevent.sigev_notify_attributes = NotifyAttr();
    op->cb.aio_sigevent.sigev_value.sival_ptr = op;
    op->shared = shared_;
    op->slot = slot;
    return op;
  }

  void Prepare(uint32_t slot, Kind kind, Op* op) {
    Slot& s = slots_[slot];
    s.state = SlotState::kPrepared;
    s.kind = kind;
    s.cancelled = false;
    s.op = op;
    prepared_.push_back(slot);
  }

  // read/write(slot, fd, view, offset, length, position) -> 0 | -errno.
  Napi::Value ReadWrite(const Napi::CallbackInfo& info, Kind kind) {
    uint32_t slot;
    int32_t fd;
    int64_t position;
    if (!ArgUint32(info, 0, &slot) || !ArgInt32(info, 1, &fd) ||
        !ArgIntRange(info, 5, 0, INT64_MAX, &position))
      return Napi::Value();
    return Pin(info, slot, fd, position, kind, false);
  }

  // readv/writev(slot, fd, views, position) -> 0 | -errno.
  Napi::Value ReadWriteV(const Napi::CallbackInfo& info, Kind kind) {
    uint32_t slot;
    int32_t fd;
    int64_t position;
    if (!ArgUint32(info, 0, &slot) || !ArgInt32(info, 1, &fd) ||
        !ArgIntRange(info, 3, 0, INT64_MAX, &position))
      return Napi::Value();
    return Pin(info, slot, fd, position, kind, true);
  }

  Napi::Value Pin(const Napi::CallbackInfo& info,
                  uint32_t slot,
                  int32_t fd,
                  int64_t position,
                  Kind kind,
                  bool vectored) {
    if (!IsOpen()) return Result(info.Env(), -EBADF);
    bool threw;
    long r = CheckSlot(info, slot, &threw);
    if (threw) return Napi::Value();
    if (r < 0) return Result(info.Env(), r);
    Bounce& b = slots_[slot].bounce;
    bool write = kind == Kind::kWrite;
    if (!(vectored ? b.PinArray(info, 2, write) : b.PinRange(info, 2, write)))
      return Napi::Value();
    Op* op = NewOp(slot, fd);
    op->cb.aio_buf = b.data();
    op->cb.aio_nbytes = b.size();
    op->cb.aio_offset = static_cast<off_t>(position);
    op->cb.aio_lio_opcode = write ? LIO_WRITE : LIO_READ;
    Prepare(slot, kind, op);
    return Result(info.Env(), 0);
  }

  Napi::Value Read(const Napi::CallbackInfo& info) {
    return ReadWrite(info, Kind::kRead);
  }
  Napi::Value Write(const Napi::CallbackInfo& info) {
    return ReadWrite(info, Kind::kWrite);
  }
  Napi::Value Readv(const Napi::CallbackInfo& info) {
    return ReadWriteV(info, Kind::kRead);
  }
  Napi::Value Writev(const Napi::CallbackInfo& info) {
    return ReadWriteV(info, Kind::kWrite);
  }

  // fsync/fdatasync(slot, fd) -> 0 | -errno.
  Napi::Value Sync(const Napi::CallbackInfo& info, int sync_op) {
    uint32_t slot;
    int32_t fd;
    if (!ArgUint32(info, 0, &slot) || !ArgInt32(info, 1, &fd))
      return Napi::Value();
    if (!IsOpen()) return Result(info.Env(), -EBADF);
    bool threw;
    long r = CheckSlot(info, slot, &threw);
    if (threw) return Napi::Value();
    if (r < 0) return Result(info.Env(), r);
    Prepare(slot, Kind::kFsync, NewOp(slot, fd));
    slots_[slot].sync_op = sync_op;
    return Result(info.Env(), 0);
  }

  Napi::Value Fsync(const Napi::CallbackInfo& info) { return Sync(info, O_SYNC); }
  Napi::Value Fdatasync(const Napi::CallbackInfo& info) {
    return Sync(info, O_DSYNC);
  }

  // An operation glibc did not take: settled through reap() without a
  // notification.
  void SettleNow(uint32_t slot, long result) {
    Slot& s = slots_[slot];
    s.state = SlotState::kReady;
    s.result = result;
    ready_.push_back(slot);
  }

  // The result glibc stored in a finished aiocb: bytes, or -errno.
  static long ResultOf(const struct aiocb* cb) {
    int e = aio_error(cb);
    if (e != 0) return -e;
    return static_cast<long>(aio_return(const_cast<struct aiocb*>(cb)));
  }

  // lio_listio(LIO_NOWAIT) for `n` prepared reads and writes.
  void SubmitBatch(const std::vector<uint32_t>& batch) {
    std::vector<struct aiocb*> list(batch.size());
    for (size_t k = 0; k < batch.size(); k++) {
      Op* op = slots_[batch[k]].op;
      list[k] = &op->cb;
#ifdef __GLIBC__
      // glibc leaves these untouched for a request it could not queue
      // (out of memory): mark such a request failed with EAGAIN, not
      // "succeeded with 0 bytes". A queued one is overwritten with
      // EINPROGRESS, then its result.
      op->cb.__error_code = EAGAIN;
      op->cb.__return_value = -1;
#endif
      shared_->Ref();
    }
    int r = lio_listio(LIO_NOWAIT, list.data(), static_cast<int>(list.size()),
                       nullptr);
    for (uint32_t slot : batch) slots_[slot].state = SlotState::kInFlight;
    if (r == 0) return;
    // Some were not queued (EAGAIN, EINVAL, EIO). Still running: queued.
    // Finished: either queued and already done (a notification is on its
    // way) or never queued (none will come), which nothing distinguishes;
    // either way glibc is done with its memory, so settle it now and mark
    // the Op an orphan, which a late Notify() frees. The reference such an
    // Op holds on Shared stays if it was never queued: a small leak, only
    // when glibc is out of memory or threads.
    for (uint32_t slot : batch) {
      Op* op = slots_[slot].op;
      if (aio_error(&op->cb) == EINPROGRESS) continue;
      long result = ResultOf(&op->cb);
      bool orphaned = false;
      {
        std::lock_guard<std::mutex> lock(shared_->mu);
        if (!op->notified) op->orphan = orphaned = true;
      }
      if (orphaned) {
        slots_[slot].op = nullptr;
        SettleNow(slot, result);
      }
    }
  }

  // submit() -> how many operations settled at once (reap them now): hands
  // every prepared operation to glibc, in order.
  Napi::Value Submit(const Napi::CallbackInfo& info) {
    if (!IsOpen()) return Result(info.Env(), -EBADF);
    size_t before = ready_.size();
    std::vector<uint32_t> batch;
    for (uint32_t slot : prepared_) {
      Slot& s = slots_[slot];
      if (s.cancelled) {
        delete s.op;
        s.op = nullptr;
        SettleNow(slot, -ECANCELED);
        continue;
      }
      if (s.kind != Kind::kFsync) {
        batch.push_back(slot);
        continue;
      }
      // aio_fsync syncs what was queued on the fd before it: queue the
      // reads and writes prepared earlier first.
      if (!batch.empty()) SubmitBatch(batch);
      batch.clear();
      shared_->Ref();
      if (aio_fsync(s.sync_op, &s.op->cb) == 0) {
        s.state = SlotState::kInFlight;
      } else {
        long err = -errno;
        shared_->Unref();
        delete s.op;
        s.op = nullptr;
        SettleNow(slot, err);
      }
    }
    if (!batch.empty()) SubmitBatch(batch);
    prepared_.clear();
    return Result(info.Env(), static_cast<long>(ready_.size() - before));
  }

  // cancel(slot) -> 0 | -errno. 0: withdrawn before submission (it
  // completes with ECANCELED); -EINPROGRESS: glibc has it, it runs to its
  // end; -EALREADY: finished; -ENOENT: no operation in that slot.
  Napi::Value Cancel(const Napi::CallbackInfo& info) {
    uint32_t slot;
    if (!ArgUint32(info, 0, &slot)) return Napi::Value();
    if (!IsOpen()) return Result(info.Env(), -EBADF);
    if (slot >= capacity_) {
      ThrowRangeError(info.Env(), "argument 0 (slot) must be below the capacity");
      return Napi::Value();
    }
    Slot& s = slots_[slot];
    switch (s.state) {
      case SlotState::kFree:
        return Result(info.Env(), -ENOENT);
      case SlotState::kReady:
        return Result(info.Env(), -EALREADY);
      case SlotState::kPrepared:
        s.cancelled = true;
        return Result(info.Env(), 0);
      case SlotState::kInFlight:
        break;
    }
    // Once glibc holds it, an operation is not taken back one by one:
    // aio_cancel of a request queued behind others on the same fd can leave
    // the rest of that fd's queue stalled (seen as a hang in CI, under random
    // aborts of thousands of reads on one fd). It completes with its result,
    // as LinuxAio's file operations do; close() still cancels everything.
    return Result(info.Env(), -EINPROGRESS);
  }

  // Moves what Notify() handed over into ready_, and drains the eventfd.
  // Then sweeps: an operation glibc has finished whose notification has
  // not come is claimed here (an orphan, which a late Notify() frees). glibc
  // starts a thread per notification and ignores pthread_create failing
  // (rt/aio_notify.c checks `< 0`), so under thread or memory pressure a
  // notification can be lost; the sweep, run at every reap and by the JS
  // side's timer while operations are in flight, settles those anyway.
  void Collect() {
    std::vector<Op*> done;
    {
      std::lock_guard<std::mutex> lock(shared_->mu);
      done.swap(shared_->done);
    }
    uint64_t count;
    while (read(shared_->efd, &count, sizeof(count)) == sizeof(count)) {
    }
    for (Op* op : done) {
      uint32_t slot = op->slot;
      long result = ResultOf(&op->cb);
      delete op;
      slots_[slot].op = nullptr;
      SettleNow(slot, result);
    }
    for (uint32_t i = 0; i < capacity_; i++) {
      Slot& s = slots_[i];
      if (s.state != SlotState::kInFlight || aio_error(&s.op->cb) == EINPROGRESS)
        continue;
      // Read before orphaning: from then on a late Notify() may free it.
      long result = ResultOf(&s.op->cb);
      bool claimed = false;
      {
        std::lock_guard<std::mutex> lock(shared_->mu);
        if (!s.op->notified) s.op->orphan = claimed = true;
      }
      if (claimed) {
        s.op = nullptr;
        SettleNow(i, result);
      }
    }
  }

  // reap(out) -> pairs: (slot, result) pairs into `out` (doubles), each
  // operation's bounce buffer finished (a read's bytes copied out).
  Napi::Value Reap(const Napi::CallbackInfo& info) {
    uint8_t* out;
    size_t len;
    if (!ArgBytes(info, 0, &out, &len)) return Napi::Value();
    if (!IsOpen()) return Result(info.Env(), -EBADF);
    Collect();
    size_t max = len / (2 * sizeof(double));
    size_t n = 0;
    // Finish runs no JS: `out` stays where ArgBytes found it.
    while (n < max && ready_head_ < ready_.size()) {
      uint32_t slot = ready_[ready_head_++];
      Slot& s = slots_[slot];
      long result = s.bounce.Finish(s.result, s.kind == Kind::kRead);
      s.state = SlotState::kFree;
      double pair[2] = {static_cast<double>(slot), static_cast<double>(result)};
      memcpy(out + n * sizeof(pair), pair, sizeof(pair));
      n++;
    }
    if (ready_head_ == ready_.size()) {
      ready_.clear();
      ready_head_ = 0;
    }
    return Result(info.Env(), static_cast<long>(n));
  }

  Napi::Value GetEventfd(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), IsOpen() ? shared_->efd : -1);
  }

  // close(timeoutMs) -> leaked: see DoClose.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    int64_t timeout;
    if (!ArgIntRange(info, 0, 0, 60000, &timeout)) return Napi::Value();
    if (!IsOpen()) {
      state_ = State::kClosed;
      return Result(info.Env(), 0);
    }
    return Result(info.Env(), DoClose(timeout));
  }

  static void Teardown(void* arg) {
    auto* self = static_cast<PosixAio*>(arg);
    if (self->IsOpen()) self->DoClose(2000);
  }

  // Cancels everything, waits up to timeoutMs for what glibc is running,
  // frees the buffers of every operation that finished and leaks (counted)
  // those of the ones that did not. Every slot is free afterwards: the JS
  // side settles its promises itself. Returns how many were leaked.
  long DoClose(int64_t timeout_ms) {
    // Never handed to glibc: just drop them.
    for (uint32_t slot : prepared_) {
      Slot& s = slots_[slot];
      delete s.op;
      s.op = nullptr;
      s.bounce.Finish(-ECANCELED, false);
      s.state = SlotState::kFree;
    }
    prepared_.clear();
    // Queued ones are cancelled (and notified); running ones cannot be.
    std::vector<uint32_t> flight;
    for (uint32_t i = 0; i < capacity_; i++) {
      if (slots_[i].state != SlotState::kInFlight) continue;
      flight.push_back(i);
      aio_cancel(slots_[i].op->cb.aio_fildes, &slots_[i].op->cb);
    }
    // aio_suspend until every one has finished, or the deadline.
    struct timespec now, deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
      deadline.tv_sec++;
      deadline.tv_nsec -= 1000000000L;
    }
    std::vector<const struct aiocb*> waiting;
    for (;;) {
      waiting.clear();
      for (uint32_t slot : flight)
        if (aio_error(&slots_[slot].op->cb) == EINPROGRESS)
          waiting.push_back(&slots_[slot].op->cb);
      if (waiting.empty()) break;
      clock_gettime(CLOCK_MONOTONIC, &now);
      long left_ns = (deadline.tv_sec - now.tv_sec) * 1000000000L +
                     (deadline.tv_nsec - now.tv_nsec);
      if (left_ns <= 0) break;
      struct timespec left = {left_ns / 1000000000L, left_ns % 1000000000L};
      aio_suspend(waiting.data(), static_cast<int>(waiting.size()), &left);
    }
    // Which finished: read while the Ops are certainly alive (Notify
    // cannot free one before `closed` is set).
    std::vector<bool> finished(flight.size());
    for (size_t k = 0; k < flight.size(); k++)
      finished[k] = aio_error(&slots_[flight[k]].op->cb) != EINPROGRESS;
    std::vector<Op*> done;
    {
      std::lock_guard<std::mutex> lock(shared_->mu);
      shared_->closed = true;
      done.swap(shared_->done);
    }
    // From here on, Notify() frees the Ops it still has to notify; those it
    // handed over are the owner's.
    for (Op* op : done) delete op;
    long leaked = 0;
    for (size_t k = 0; k < flight.size(); k++) {
      Slot& s = slots_[flight[k]];
      s.op = nullptr;
      if (finished[k]) {
        s.bounce.Finish(-ECANCELED, false);
      } else {
        s.bounce.Abandon();
        leaked++;
      }
      s.state = SlotState::kFree;
    }
    for (size_t k = ready_head_; k < ready_.size(); k++) {
      Slot& s = slots_[ready_[k]];
      s.bounce.Finish(-ECANCELED, false);
      s.state = SlotState::kFree;
    }
    ready_.clear();
    ready_head_ = 0;
    // No thread writes the eventfd any more.
    int efd = shared_->efd;
    if (AddonData* data = GetAddonData(env_)) {
      auto it = data->owned_fds.find(efd);
      if (it != data->owned_fds.end() && it->second == generation_) {
        data->owned_fds.erase(it);
        close(efd);
      }
    } else {
      close(efd);
    }
    shared_->Unref();
    shared_ = nullptr;
    state_ = State::kClosed;
    napi_remove_env_cleanup_hook(env_, Teardown, this);
    napi_ref self = self_;
    self_ = nullptr;
    if (self != nullptr) napi_delete_reference(env_, self);
    return leaked;
  }

  napi_env env_;
  napi_ref self_ = nullptr;
  State state_ = State::kNew;
  Shared* shared_ = nullptr;
  double generation_ = 0;
  uint32_t capacity_ = 0;
  std::unique_ptr<Slot[]> slots_;
  std::vector<uint32_t> prepared_;  // in submission order
  std::vector<uint32_t> ready_;     // settled, to reap from ready_head_
  size_t ready_head_ = 0;
};

const napi_type_tag PosixAio::kTag = kPosixAioTag;

}  // namespace

void
InitPosixAio(Napi::Env env, Napi::Object exports, Napi::Object constants) {
  exports.Set("PosixAio", PosixAio::Define(env));
#define C(name) constants.Set(#name, Napi::Number::New(env, name))
  C(AIO_CANCELED); C(AIO_NOTCANCELED); C(AIO_ALLDONE);
  C(LIO_READ); C(LIO_WRITE); C(LIO_NOWAIT);
#undef C
  constants.Set("POSIX_AIO_MAX_CAPACITY", Napi::Number::New(env, kMaxCapacity));
}

}  // namespace iomodes
