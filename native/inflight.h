// Memory of an operation the kernel (or a pool thread) still uses after the
// call that started it returns: io_uring, Linux AIO, POSIX AIO and the
// threadpool backend all hold their buffers through a Bounce (rule 5;
// reliability anchors P1, P2, P4).
//
// A user's view is never handed to the kernel. A reference keeps the JS
// object alive, not its memory, and JS can detach that memory
// (ArrayBuffer.prototype.transfer(), postMessage with a transfer list),
// shrink it (a resizable ArrayBuffer) or move it (WebAssembly.Memory grow)
// while the operation is in flight. So each operation owns a native bounce
// buffer, aligned for O_DIRECT:
// - a write copies the views' bytes in when it is submitted;
// - a read copies them out on the loop thread when its completion is
//   reaped, into each view if it is still attached and long enough; if not,
//   the bytes are dropped and the result is kResultDetached.
// A read's views stay referenced until then, so the garbage collector cannot
// take them; a write's are not held at all once their bytes are copied in.
// If teardown cannot confirm that the kernel is done with a bounce buffer,
// it is leaked on purpose and counted (a leak is survivable, a
// use-after-free is not).
#pragma once

#include <sys/uio.h>

#include <atomic>
#include <cstdint>
#include <vector>

#include "addon.h"

namespace iomodes {

// A read whose views were detached or shrunk while it was in flight: its
// bytes could not land. TS turns it into ERR_INVALID_STATE. Far below any
// -errno.
constexpr long kResultDetached = -(1L << 20);

// Bounce buffers leaked by teardown because their completion could not be
// confirmed, process-wide (debug_counters().leakedOnTeardown).
extern std::atomic<uint64_t> g_leaked_on_teardown;

// Leaves `p` (heap memory the kernel may still write into) allocated for
// good, counted in g_leaked_on_teardown; under LeakSanitizer it is marked
// as deliberate, so scripts/test-lsan.sh reports only leaks nobody chose.
void
LeakOnPurpose(const void* p);

class Bounce {
 public:
  Bounce() = default;
  Bounce(const Bounce&) = delete;
  Bounce& operator=(const Bounce&) = delete;
  ~Bounce();

  // Pins info[i], a view or ArrayBuffer narrowed by the integers (offset,
  // length) at info[i+1], info[i+2], as ArgByteRange checks them. A write
  // (copy_in) copies the bytes now. False with a pending exception.
  bool PinRange(const Napi::CallbackInfo& info, size_t i, bool copy_in);
  // Pins `length` bytes at `offset` of `view`, a value already decoded
  // (the caller checked the range against the view's live length).
  bool PinValue(napi_env env, napi_value view, size_t offset, size_t length,
                bool copy_in);
  // Pins info[i], an array of whole views (readv/writev). Every element is
  // read first (getters may run JS), then every view's bytes are taken.
  bool PinArray(const Napi::CallbackInfo& info, size_t i, bool copy_in);
  // A read through memory the caller owns and keeps alive until Finish or
  // Abandon (a Ring's registered buffers): `length` bytes at `memory` are
  // copied into `view` at `offset` when the read completes, as for a bounce
  // buffer, but `memory` is never allocated, freed nor leaked here. The
  // caller checked the range against the view's live length.
  bool PinBorrowed(napi_env env, napi_value view, size_t offset, size_t length,
                   uint8_t* memory);

  bool pinned() const { return env_ != nullptr; }
  uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  // One iovec per pinned view, over the bounce buffer.
  const struct iovec* iov() const { return iov_.data(); }
  int iovcnt() const { return static_cast<int>(iov_.size()); }

  // The completion, on the loop thread: for a read (copy_out) with
  // result > 0, the first `result` bytes go back to the views in order.
  // Releases the views and frees the buffer. Returns `result`, or
  // kResultDetached if a view no longer held its range.
  long Finish(long result, bool copy_out) {
    return FinishCopy(result, copy_out && result > 0 ? result : 0);
  }
  // The same, copying `count` bytes back whatever the result (statx's
  // result is 0, its struct the whole buffer). Nothing is copied when
  // result < 0.
  long FinishCopy(long result, size_t count);
  // Teardown, when the kernel may still use the buffer: it is leaked (and
  // counted), the views released.
  void Abandon();

 private:
  struct Segment {
    napi_ref view;
    size_t offset;  // where the range starts in the view's bytes
    size_t length;
  };

  bool Allocate(napi_env env, size_t size);
  // Records a pinned view's range, its bytes at data_; a read's view
  // (copy_in false) is referenced until Finish copies into it.
  void AddSegment(napi_env env, napi_value view, size_t offset, size_t length,
                  bool copy_in);
  void Release();

  napi_env env_ = nullptr;
  std::vector<Segment> segments_;
  std::vector<struct iovec> iov_;
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  bool borrowed_ = false;  // data_ is the caller's (PinBorrowed)
};

}  // namespace iomodes
