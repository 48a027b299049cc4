// Direct I/O and page-cache control: O_DIRECT alignment discovery and friends.
//
// statx(2) is called raw, with the kernel's struct statx from <linux/stat.h>:
// glibc's <sys/stat.h> may carry an older struct statx without the
// stx_dio_* fields, so this file never includes it.
#include <fcntl.h>
#include <linux/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <string>

#include "addon.h"

namespace iomodes {

// statx(dirfd, path, flags, mask, out: Uint8Array) -> 0 | -errno. The kernel's
// struct statx is copied into `out`; TS reads the fields it asked for at the
// offsets exported below, after checking stx_mask says they were filled.
static Napi::Value
Statx(const Napi::CallbackInfo& info) {
  int32_t dirfd, flags;
  uint32_t mask;
  std::string path;
  uint8_t* out;
  if (!ArgInt32(info, 0, &dirfd) || !ArgPath(info, 1, &path) ||
      !ArgInt32(info, 2, &flags) || !ArgUint32(info, 3, &mask) ||
      !ArgOut(info, 4, sizeof(struct statx), &out))
    return Napi::Value();
  struct statx st;
  memset(&st, 0, sizeof(st));
  long r = IOMODES_RETRY(
      syscall(SYS_statx, dirfd, path.c_str(), flags, mask, &st));
  if (r == 0) memcpy(out, &st, sizeof(st));
  return Result(info.Env(), r);
}

void
InitDirect(Napi::Env env, Napi::Object exports, Napi::Object constants) {
  Export(exports, "statx", Statx);

#define C(name) constants.Set(#name, Napi::Number::New(env, name))
#define OFFSET(field)                        \
  constants.Set("offsetof_statx_" #field, \
                Napi::Number::New(env, offsetof(struct statx, stx_##field)))
  constants.Set("sizeof_statx", Napi::Number::New(env, sizeof(struct statx)));
  OFFSET(mask); OFFSET(blksize); OFFSET(mode); OFFSET(size);
  OFFSET(dio_mem_align); OFFSET(dio_offset_align);
  C(STATX_BASIC_STATS); C(STATX_SIZE); C(STATX_DIOALIGN);
  C(AT_FDCWD); C(AT_SYMLINK_NOFOLLOW); C(AT_EMPTY_PATH);
  C(AT_STATX_SYNC_AS_STAT);
#undef OFFSET
#undef C
}

}  // namespace iomodes
