// Asynchronous I/O: io_uring (raw syscalls, no liburing) and Linux native
// AIO. glibc wraps neither, so each binding is a raw syscall(2); the kernel
// structs cross into JS as bytes, with their layout exported as constants.
#include <linux/aio_abi.h>
#include <linux/capability.h>
#include <linux/io_uring.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>

#include "addon.h"
#include "inflight.h"

namespace iomodes {

// IORING_SETUP_IOPOLL .. IORING_SETUP_DEFER_TASKRUN (bits 0-13) and
// IORING_SETUP_NO_SQARRAY (bit 16), by number: older kernel headers lack
// the newer names.
static const uint32_t kAllowedSetupFlags = ((1u << 14) - 1) | (1u << 16);

// io_uring_setup(entries, params: Uint8Array) -> fd | -errno. `params` is
// in/out, as in the kernel: the caller sets flags (and sq_thread_*, cq_entries)
// in a zeroed struct io_uring_params; the kernel fills in the ring sizes,
// features and mmap offsets. The ring fd is close-on-exec.
static Napi::Value
IoUringSetup(const Napi::CallbackInfo& info) {
  uint32_t entries;
  uint8_t* out;
  if (!ArgUint32(info, 0, &entries) ||
      !ArgOut(info, 1, sizeof(io_uring_params), &out))
    return Napi::Value();
  // A local copy: the kernel never writes through a pointer into JS memory
  // that a resizable buffer could move.
  io_uring_params p;
  memcpy(&p, out, sizeof(p));
  // Only flags that keep the rings in kernel memory: IORING_SETUP_NO_MMAP
  // (and REGISTERED_FD_ONLY, which needs it) would have the kernel use any
  // address the caller names as the rings, unpinned; unknown future flags
  // are refused for the same reason.
  if (p.flags & ~kAllowedSetupFlags) {
    ThrowValueError(info.Env(),
                    "io_uring_setup: params.flags holds a flag iomodes does "
                    "not allow (IORING_SETUP_NO_MMAP and unknown flags)");
    return Napi::Value();
  }
  long r = IOMODES_ERRNO(syscall(__NR_io_uring_setup, entries, &p));
  if (r >= 0) memcpy(out, &p, sizeof(p));
  return Result(info.Env(), r);
}

// io_setup(nrEvents, ctx: BigUint64Array) -> 0 | -errno; ctx[0] receives
// the aio_context_t (it must start at 0, so it is zeroed here).
static Napi::Value
IoSetup(const Napi::CallbackInfo& info) {
  uint32_t nr;
  uint8_t* out;
  if (!ArgUint32(info, 0, &nr) || !ArgOut(info, 1, sizeof(aio_context_t), &out))
    return Napi::Value();
  aio_context_t ctx = 0;
  long r = IOMODES_ERRNO(syscall(__NR_io_setup, nr, &ctx));
  if (r == 0) memcpy(out, &ctx, sizeof(ctx));
  return Result(info.Env(), r);
}

// io_destroy(ctx: bigint) -> 0 | -errno. Blocks until the context's
// uncancellable operations complete.
static Napi::Value
IoDestroy(const Napi::CallbackInfo& info) {
  uint64_t ctx;
  bool lossless;
  if (!info[0].IsBigInt()) {
    ThrowTypeError(info.Env(), "argument 0 must be a bigint aio_context_t");
    return Napi::Value();
  }
  napi_get_value_bigint_uint64(info.Env(), info[0], &ctx, &lossless);
  if (!lossless) {
    ThrowRangeError(info.Env(), "argument 0 must fit an unsigned 64-bit aio_context_t");
    return Napi::Value();
  }
  return Result(info.Env(),
                IOMODES_ERRNO(syscall(__NR_io_destroy,
                                      static_cast<aio_context_t>(ctx))));
}

void
InitAsync(Napi::Env env, Napi::Object exports, Napi::Object constants) {
  Export(exports, "io_uring_setup", IoUringSetup);
  Export(exports, "io_setup", IoSetup);
  Export(exports, "io_destroy", IoDestroy);

#define C(name) constants.Set(#name, Napi::Number::New(env, name))
#define SIZE(type) \
  constants.Set("sizeof_" #type, Napi::Number::New(env, sizeof(type)))
#define OFFSET(type, field)             \
  constants.Set("offsetof_" #type "_" #field, \
                Napi::Number::New(env, offsetof(type, field)))
  // The result of a read whose buffer was detached in flight (inflight.h).
  constants.Set("IOMODES_RESULT_DETACHED",
                Napi::Number::New(env, static_cast<double>(kResultDetached)));
  SIZE(io_uring_params);
  OFFSET(io_uring_params, sq_entries);
  OFFSET(io_uring_params, cq_entries);
  OFFSET(io_uring_params, flags);
  OFFSET(io_uring_params, features);
  // Every IORING_FEAT_* bit these headers know: TS names the bits a ring
  // reports from this list, and counts the rest as unnamed.
  C(IORING_FEAT_SINGLE_MMAP); C(IORING_FEAT_NODROP);
  C(IORING_FEAT_SUBMIT_STABLE); C(IORING_FEAT_RW_CUR_POS);
  C(IORING_FEAT_CUR_PERSONALITY); C(IORING_FEAT_FAST_POLL);
  C(IORING_FEAT_POLL_32BITS); C(IORING_FEAT_SQPOLL_NONFIXED);
  C(IORING_FEAT_EXT_ARG); C(IORING_FEAT_NATIVE_WORKERS);
#ifdef IORING_FEAT_RSRC_TAGS
  C(IORING_FEAT_RSRC_TAGS);
#endif
#ifdef IORING_FEAT_CQE_SKIP
  C(IORING_FEAT_CQE_SKIP);
#endif
#ifdef IORING_FEAT_LINKED_FILE
  C(IORING_FEAT_LINKED_FILE);
#endif
#ifdef IORING_FEAT_REG_REG_RING
  C(IORING_FEAT_REG_REG_RING);
#endif
#ifdef IORING_FEAT_RECVSEND_BUNDLE
  C(IORING_FEAT_RECVSEND_BUNDLE);
#endif
#ifdef IORING_FEAT_MIN_TIMEOUT
  C(IORING_FEAT_MIN_TIMEOUT);
#endif
  // kernel.io_uring_disabled=1 still lets CAP_SYS_ADMIN create rings.
  C(CAP_SYS_ADMIN);
#undef OFFSET
#undef SIZE
#undef C
}

}  // namespace iomodes
