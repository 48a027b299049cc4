// Blocking I/O: read/write and their positional and vectored forms. Each
// binding is one syscall, restarted on EINTR; short counts go back as they
// come. On a blocking fd these block the calling thread, by design.
//
// The hot calls go through syscall(2), not glibc's wrappers: those are
// pthread cancellation points and pay two atomic updates of the thread's
// cancel state per call, about 7% of a cached 4 KiB pread. Node never
// cancels threads, so the wrapper buys nothing here.
#include <fcntl.h>
#include <limits.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <vector>

#include "addon.h"

// Uncached buffered I/O, Linux 6.14: newer than the kernel headers this
// may be built with. The kernel refuses it (EOPNOTSUPP) where unsupported.
#ifndef RWF_DONTCACHE
#define RWF_DONTCACHE 0x00000080
#endif

namespace iomodes {

// Fills `iov` from the array of Uint8Arrays at info[i], in two passes.
// Reading an element may run JS (a getter, a Proxy trap), and that JS may
// detach or shrink a buffer read before it; so every element is collected
// first, and only then are the pointers taken, with no JS run between them
// and the syscall. The views are pinned for the (synchronous) call by the
// caller's handle scope.
static bool
ArgIovecs(const Napi::CallbackInfo& info, size_t i, std::vector<iovec>* iov) {
  napi_env env = info.Env();
  bool is_array;
  if (napi_is_array(env, info[i], &is_array) != napi_ok || !is_array) {
    ThrowTypeError(env, "argument 1 must be an array of Uint8Arrays");
    return false;
  }
  uint32_t n;
  napi_get_array_length(env, info[i], &n);
  if (n > IOV_MAX) {
    ThrowRangeError(env, "too many buffers (IOV_MAX)");
    return false;
  }
  std::vector<napi_value> views(n);
  for (uint32_t k = 0; k < n; k++) {
    if (napi_get_element(env, info[i], k, &views[k]) != napi_ok) return false;
  }
  for (uint32_t k = 0; k < n; k++) {
    bool is;
    napi_typedarray_type type;
    if (napi_is_typedarray(env, views[k], &is) != napi_ok || !is ||
        napi_get_typedarray_info(env, views[k], &type, nullptr, nullptr,
                                 nullptr, nullptr) != napi_ok ||
        type != napi_uint8_array) {
      ThrowTypeError(env, "argument 1 must be an array of Uint8Arrays");
      return false;
    }
  }
  iov->resize(n);
  for (uint32_t k = 0; k < n; k++) {
    size_t count;
    void* p;
    napi_get_typedarray_info(env, views[k], nullptr, &count, &p, nullptr,
                             nullptr);
    (*iov)[k] = {p, count};
  }
  return true;
}

static Napi::Value
Read(const Napi::CallbackInfo& info) {
  int32_t fd;
  uint8_t* p;
  size_t n;
  if (!ArgInt32(info, 0, &fd) || !ArgByteRange(info, 1, &p, &n))
    return Napi::Value();
  return Result(info.Env(), IOMODES_RETRY(syscall(SYS_read, fd, p, n)));
}

static Napi::Value
Write(const Napi::CallbackInfo& info) {
  int32_t fd;
  uint8_t* p;
  size_t n;
  if (!ArgInt32(info, 0, &fd) || !ArgByteRange(info, 1, &p, &n))
    return Napi::Value();
  return Result(info.Env(), IOMODES_RETRY(syscall(SYS_write, fd, p, n)));
}

static Napi::Value
Pread(const Napi::CallbackInfo& info) {
  int32_t fd;
  uint8_t* p;
  size_t n;
  int64_t pos;
  if (!ArgInt32(info, 0, &fd) || !ArgByteRange(info, 1, &p, &n) ||
      !ArgInt64(info, 4, &pos))
    return Napi::Value();
  return Result(info.Env(), IOMODES_RETRY(syscall(SYS_pread64, fd, p, n, pos)));
}

static Napi::Value
Pwrite(const Napi::CallbackInfo& info) {
  int32_t fd;
  uint8_t* p;
  size_t n;
  int64_t pos;
  if (!ArgInt32(info, 0, &fd) || !ArgByteRange(info, 1, &p, &n) ||
      !ArgInt64(info, 4, &pos))
    return Napi::Value();
  return Result(info.Env(), IOMODES_RETRY(syscall(SYS_pwrite64, fd, p, n, pos)));
}

static Napi::Value
Readv(const Napi::CallbackInfo& info) {
  int32_t fd;
  std::vector<iovec> iov;
  if (!ArgInt32(info, 0, &fd) || !ArgIovecs(info, 1, &iov))
    return Napi::Value();
  return Result(info.Env(),
                IOMODES_RETRY(syscall(SYS_readv, fd, iov.data(), iov.size())));
}

static Napi::Value
Writev(const Napi::CallbackInfo& info) {
  int32_t fd;
  std::vector<iovec> iov;
  if (!ArgInt32(info, 0, &fd) || !ArgIovecs(info, 1, &iov))
    return Napi::Value();
  return Result(info.Env(),
                IOMODES_RETRY(syscall(SYS_writev, fd, iov.data(), iov.size())));
}

// preadv2/pwritev2(fd, buffers, position, flags): position -1 means the
// file's current offset, as the kernel defines it.
static Napi::Value
Preadv2(const Napi::CallbackInfo& info) {
  int32_t fd, flags;
  int64_t pos;
  std::vector<iovec> iov;
  if (!ArgInt32(info, 0, &fd) || !ArgIovecs(info, 1, &iov) ||
      !ArgInt64(info, 2, &pos) || !ArgInt32(info, 3, &flags))
    return Napi::Value();
  return Result(info.Env(), IOMODES_RETRY(preadv2(fd, iov.data(),
                                                  (int)iov.size(), pos, flags)));
}

static Napi::Value
Pwritev2(const Napi::CallbackInfo& info) {
  int32_t fd, flags;
  int64_t pos;
  std::vector<iovec> iov;
  if (!ArgInt32(info, 0, &fd) || !ArgIovecs(info, 1, &iov) ||
      !ArgInt64(info, 2, &pos) || !ArgInt32(info, 3, &flags))
    return Napi::Value();
  return Result(info.Env(), IOMODES_RETRY(pwritev2(
                                fd, iov.data(), (int)iov.size(), pos, flags)));
}

static Napi::Value
Fsync(const Napi::CallbackInfo& info) {
  int32_t fd;
  if (!ArgInt32(info, 0, &fd)) return Napi::Value();
  return Result(info.Env(), IOMODES_RETRY(fsync(fd)));
}

static Napi::Value
Fdatasync(const Napi::CallbackInfo& info) {
  int32_t fd;
  if (!ArgInt32(info, 0, &fd)) return Napi::Value();
  return Result(info.Env(), IOMODES_RETRY(fdatasync(fd)));
}

void
InitBlocking(Napi::Env env, Napi::Object exports, Napi::Object constants) {
  Export(exports, "read", Read);
  Export(exports, "write", Write);
  Export(exports, "pread", Pread);
  Export(exports, "pwrite", Pwrite);
  Export(exports, "readv", Readv);
  Export(exports, "writev", Writev);
  Export(exports, "preadv2", Preadv2);
  Export(exports, "pwritev2", Pwritev2);
  Export(exports, "fsync", Fsync);
  Export(exports, "fdatasync", Fdatasync);

#define C(name) constants.Set(#name, Napi::Number::New(env, name))
  C(RWF_HIPRI); C(RWF_DSYNC); C(RWF_SYNC); C(RWF_NOWAIT); C(RWF_APPEND);
  C(RWF_DONTCACHE);
  C(IOV_MAX);
#undef C
}

}  // namespace iomodes
