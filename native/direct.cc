// Direct I/O and page-cache control: O_DIRECT alignment discovery and friends.
//
// statx(2) is called raw, with the kernel's struct statx from <linux/stat.h>:
// glibc's <sys/stat.h> may carry an older struct statx without the
// stx_dio_* fields, so this file never includes it.
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <linux/stat.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <vector>

#include <algorithm>
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

// statfs(path) -> f_type (the filesystem's magic number) | -errno.
static Napi::Value
Statfs(const Napi::CallbackInfo& info) {
  std::string path;
  if (!ArgPath(info, 0, &path)) return Napi::Value();
  struct statfs st;
  long r = IOMODES_RETRY(statfs(path.c_str(), &st));
  // f_type is a (positive) magic number; unsigned, so 0x9123683E stays positive.
  return Result(info.Env(), r < 0 ? r : static_cast<long>(static_cast<uint32_t>(st.f_type)));
}

// fstatfs(fd) -> f_type | -errno.
static Napi::Value
Fstatfs(const Napi::CallbackInfo& info) {
  int32_t fd;
  if (!ArgInt32(info, 0, &fd)) return Napi::Value();
  struct statfs st;
  long r = IOMODES_RETRY(fstatfs(fd, &st));
  return Result(info.Env(), r < 0 ? r : static_cast<long>(static_cast<uint32_t>(st.f_type)));
}

// ioctl_blksszget(fd) -> the block device's logical block size | -errno
// (ENOTTY for anything but a block device).
static Napi::Value
IoctlBlksszget(const Napi::CallbackInfo& info) {
  int32_t fd;
  if (!ArgInt32(info, 0, &fd)) return Napi::Value();
  int size = 0;
  long r = IOMODES_ERRNO(ioctl(fd, BLKSSZGET, &size));
  return Result(info.Env(), r < 0 ? r : size);
}

// address_mod(view, alignment) -> the view's first byte's address modulo
// alignment (a power of two up to 2**30). Node allocates no aligned
// memory; this is how TS finds where in a larger buffer an aligned one
// starts, and checks an O_DIRECT buffer before the syscall.
static Napi::Value
AddressMod(const Napi::CallbackInfo& info) {
  uint8_t* data;
  size_t len;
  uint32_t alignment;
  if (!ArgBytes(info, 0, &data, &len) || !ArgUint32(info, 1, &alignment))
    return Napi::Value();
  if (alignment == 0 || (alignment & (alignment - 1)) != 0 || alignment > (1u << 30)) {
    ThrowRangeError(info.Env(), "alignment must be a power of two up to 2**30");
    return Napi::Value();
  }
  return Result(info.Env(), static_cast<long>(reinterpret_cast<uintptr_t>(data) & (alignment - 1)));
}

// mincore(fd, offset, length) -> resident pages | -errno: maps the range
// (read-only, shared: nothing is read or faulted in) and asks mincore(2)
// which of its pages are in the page cache, like fincore(1). offset must
// be page-aligned. The range is clamped to the file's size (statx), so a
// hostile length can neither overflow nor map terabytes; and mapped in
// windows of 1 GiB, so a huge file needs no huge vector.
static Napi::Value
Mincore(const Napi::CallbackInfo& info) {
  int32_t fd;
  int64_t offset, length;
  if (!ArgInt32(info, 0, &fd) || !ArgIntRange(info, 1, 0, INT64_MAX, &offset) ||
      !ArgIntRange(info, 2, 0, INT64_MAX, &length))
    return Napi::Value();
  long page = sysconf(_SC_PAGESIZE);
  if (offset % page != 0) return Result(info.Env(), -EINVAL);
  struct statx st;
  if (syscall(SYS_statx, fd, "", AT_EMPTY_PATH, STATX_SIZE, &st) == -1)
    return Result(info.Env(), -errno);
  int64_t size = static_cast<int64_t>(st.stx_size);
  int64_t end = offset >= size ? offset : offset + std::min(length, size - offset);
  const int64_t kWindow = INT64_C(1) << 30;
  std::vector<unsigned char> vec;
  long resident = 0;
  for (int64_t at = offset; at < end; at += kWindow) {
    size_t len = static_cast<size_t>(std::min(kWindow, end - at));
    void* map = mmap(nullptr, len, PROT_READ, MAP_SHARED, fd, static_cast<off_t>(at));
    if (map == MAP_FAILED) return Result(info.Env(), -errno);
    size_t pages = (len + page - 1) / page;
    vec.assign(pages, 0);
    long r = IOMODES_ERRNO(mincore(map, len, vec.data()));
    munmap(map, len);
    if (r < 0) return Result(info.Env(), r);
    for (unsigned char v : vec) resident += v & 1;
  }
  return Result(info.Env(), resident);
}

// posix_fadvise(fd, offset, length, advice) -> 0 | -errno. (It returns the
// error number itself rather than setting errno.)
static Napi::Value
PosixFadvise(const Napi::CallbackInfo& info) {
  int32_t fd, advice;
  int64_t offset, length;
  if (!ArgInt32(info, 0, &fd) || !ArgInt64(info, 1, &offset) ||
      !ArgInt64(info, 2, &length) || !ArgInt32(info, 3, &advice))
    return Napi::Value();
  return Result(info.Env(), -posix_fadvise(fd, offset, length, advice));
}

// fallocate(fd, mode, offset, length) -> 0 | -errno.
static Napi::Value
Fallocate(const Napi::CallbackInfo& info) {
  int32_t fd, mode;
  int64_t offset, length;
  if (!ArgInt32(info, 0, &fd) || !ArgInt32(info, 1, &mode) ||
      !ArgInt64(info, 2, &offset) || !ArgInt64(info, 3, &length))
    return Napi::Value();
  return Result(info.Env(), IOMODES_RETRY(fallocate(fd, mode, offset, length)));
}

void
InitDirect(Napi::Env env, Napi::Object exports, Napi::Object constants) {
  Export(exports, "statx", Statx);
  Export(exports, "statfs", Statfs);
  Export(exports, "fstatfs", Fstatfs);
  Export(exports, "ioctl_blksszget", IoctlBlksszget);
  Export(exports, "address_mod", AddressMod);
  Export(exports, "mincore", Mincore);
  Export(exports, "posix_fadvise", PosixFadvise);
  Export(exports, "fallocate", Fallocate);

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
  C(POSIX_FADV_NORMAL); C(POSIX_FADV_SEQUENTIAL); C(POSIX_FADV_RANDOM);
  C(POSIX_FADV_WILLNEED); C(POSIX_FADV_DONTNEED); C(POSIX_FADV_NOREUSE);
  C(FALLOC_FL_KEEP_SIZE); C(FALLOC_FL_PUNCH_HOLE); C(FALLOC_FL_ZERO_RANGE);
  constants.Set("PAGE_SIZE", Napi::Number::New(env, sysconf(_SC_PAGESIZE)));

  // statfs's f_type -> a name, for errors that say which filesystem
  // refused O_DIRECT (<linux/magic.h>; ext2, ext3 and ext4 share one).
  Napi::Object fs = Napi::Object::New(env);
#define FS(name, magic) fs.Set(name, Napi::Number::New(env, static_cast<uint32_t>(magic)))
  FS("ext4", EXT4_SUPER_MAGIC); FS("xfs", XFS_SUPER_MAGIC);
  FS("btrfs", BTRFS_SUPER_MAGIC); FS("f2fs", F2FS_SUPER_MAGIC);
  FS("exfat", EXFAT_SUPER_MAGIC); FS("vfat", MSDOS_SUPER_MAGIC);
  FS("erofs", EROFS_SUPER_MAGIC_V1); FS("zonefs", ZONEFS_MAGIC);
  FS("squashfs", SQUASHFS_MAGIC); FS("tmpfs", TMPFS_MAGIC);
  FS("ramfs", RAMFS_MAGIC); FS("hugetlbfs", HUGETLBFS_MAGIC);
  FS("overlayfs", OVERLAYFS_SUPER_MAGIC); FS("fuse", FUSE_SUPER_MAGIC);
  FS("nfs", NFS_SUPER_MAGIC); FS("cifs", CIFS_SUPER_MAGIC);
  FS("smb2", SMB2_SUPER_MAGIC); FS("9p", V9FS_MAGIC);
  FS("proc", PROC_SUPER_MAGIC); FS("sysfs", SYSFS_MAGIC);
  FS("devpts", DEVPTS_SUPER_MAGIC); FS("cgroup", CGROUP_SUPER_MAGIC);
  FS("cgroup2", CGROUP2_SUPER_MAGIC); FS("debugfs", DEBUGFS_MAGIC);
  FS("tracefs", TRACEFS_MAGIC); FS("bpf", BPF_FS_MAGIC);
#undef FS
  exports.Set("filesystems", fs);
#undef OFFSET
#undef C
}

}  // namespace iomodes
