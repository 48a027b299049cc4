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

namespace iomodes {

// Fills `iov` from the array of views at info[i]. Views are pinned only for
// the duration of the (synchronous) call, which the JS caller guarantees.
static bool
ArgIovecs(const Napi::CallbackInfo& info, size_t i, std::vector<iovec>* iov) {
  if (!info[i].IsArray()) {
    ThrowTypeError(info.Env(), "expected an array of ArrayBufferViews");
    return false;
  }
  Napi::Array arr = info[i].As<Napi::Array>();
  uint32_t n = arr.Length();
  if (n > IOV_MAX) {
    ThrowRangeError(info.Env(), "too many buffers (IOV_MAX)");
    return false;
  }
  iov->resize(n);
  for (uint32_t k = 0; k < n; k++) {
    napi_value v;
    if (napi_get_element(info.Env(), arr, k, &v) != napi_ok) return false;
    napi_typedarray_type type;
    size_t count, offset;
    void* p;
    napi_value ab;
    if (napi_get_typedarray_info(info.Env(), v, &type, &count, &p, &ab,
                                 &offset) != napi_ok ||
        type != napi_uint8_array) {
      ThrowTypeError(info.Env(), "expected an array of Uint8Arrays");
      return false;
    }
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
  C(IOV_MAX);
#undef C
}

}  // namespace iomodes
