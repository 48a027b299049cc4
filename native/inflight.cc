// Bounce buffers for operations in flight: see inflight.h.
#include "inflight.h"

#include <dlfcn.h>
#include <limits.h>

#include <cstdlib>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace iomodes {

std::atomic<uint64_t> g_leaked_on_teardown{0};

void
LeakOnPurpose(const void* p) {
  g_leaked_on_teardown++;
  // Present only when the ASan runtime is in the process; looked up once.
  using Ignore = void (*)(const void*);
  static const Ignore ignore =
      reinterpret_cast<Ignore>(dlsym(RTLD_DEFAULT, "__lsan_ignore_object"));
  if (ignore != nullptr && p != nullptr) ignore(p);
}

// O_DIRECT wants the buffer aligned to the logical block size (512 or 4096
// bytes); a page covers both.
static const size_t kAlign = 4096;

// The copy of a completed read into its view. glibc's memcpy moves 4 KiB
// and more with `rep movsb`, which on some x86 CPUs (this VM's EPYC) runs at
// a third of its speed when the destination is not as aligned as the source
// modulo 64: the bounce block is page-aligned, a Buffer's bytes from malloc
// usually are 16 bytes off. Sixteen-byte loads and stores do not care.
static void
CopyOut(uint8_t* to, const uint8_t* from, size_t n) {
#if defined(__SSE2__)
  if (((reinterpret_cast<uintptr_t>(to) ^ reinterpret_cast<uintptr_t>(from)) & 63) != 0) {
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
      const auto* s = reinterpret_cast<const __m128i*>(from + i);
      auto* d = reinterpret_cast<__m128i*>(to + i);
      __m128i a = _mm_loadu_si128(s), b = _mm_loadu_si128(s + 1);
      __m128i c = _mm_loadu_si128(s + 2), e = _mm_loadu_si128(s + 3);
      _mm_storeu_si128(d, a);
      _mm_storeu_si128(d + 1, b);
      _mm_storeu_si128(d + 2, c);
      _mm_storeu_si128(d + 3, e);
    }
    if (i < n) memcpy(to + i, from + i, n - i);
    return;
  }
#endif
  memcpy(to, from, n);
}

Bounce::~Bounce() {
  // Only reached with memory still pinned if the owner skipped Finish and
  // Abandon: leaking is the safe choice, as in Abandon.
  if (pinned()) Abandon();
}

// Page-aligned allocations are slow in glibc (posix_memalign splits a larger
// chunk each time), and an operation makes one per call: blocks of up to
// kCachedMax bytes are kept for reuse, per thread, in power-of-two classes.
static const size_t kCachedMax = 1 << 20;
static const size_t kClasses = 9;  // 4 KiB .. 1 MiB
static const size_t kPerClass = 256;
// ... and at most this many bytes per class, so a burst of large operations
// leaves at most ~9 x 4 MiB with the thread.
static const size_t kBytesPerClass = 4 << 20;

namespace {
struct BlockCache {
  std::vector<void*> free_blocks[kClasses];
  ~BlockCache() {
    for (auto& list : free_blocks)
      for (void* p : list) free(p);
  }
};
thread_local BlockCache cache;

size_t
ClassOf(size_t size, size_t* rounded) {
  size_t c = 0, n = kAlign;
  while (n < size) {
    n <<= 1;
    c++;
  }
  *rounded = n;
  return c;
}
}  // namespace

static void*
TakeBlock(size_t size) {
  if (size > kCachedMax) {
    void* p = nullptr;
    return posix_memalign(&p, kAlign, size) == 0 ? p : nullptr;
  }
  size_t rounded;
  std::vector<void*>& list = cache.free_blocks[ClassOf(size, &rounded)];
  if (!list.empty()) {
    void* p = list.back();
    list.pop_back();
    return p;
  }
  void* p = nullptr;
  return posix_memalign(&p, kAlign, rounded) == 0 ? p : nullptr;
}

static void
GiveBlock(void* p, size_t size) {
  if (size <= kCachedMax) {
    size_t rounded;
    std::vector<void*>& list = cache.free_blocks[ClassOf(size, &rounded)];
    size_t keep = kBytesPerClass / rounded;
    if (list.size() < (keep < kPerClass ? keep : kPerClass)) {
      list.push_back(p);
      return;
    }
  }
  free(p);
}

bool
Bounce::Allocate(napi_env env, size_t size) {
  // At least one byte, so a zero-length operation still has a valid address.
  void* p = TakeBlock(size == 0 ? 1 : size);
  if (p == nullptr) {
    Napi::Error::New(env, "iomodes: out of memory for a bounce buffer")
        .ThrowAsJavaScriptException();
    return false;
  }
  data_ = static_cast<uint8_t*>(p);
  size_ = size;
  env_ = env;
  if (AddonData* d = GetAddonData(env)) d->pinned_ops++;
  return true;
}

bool
Bounce::PinRange(const Napi::CallbackInfo& info, size_t i, bool copy_in) {
  napi_env env = info.Env();
  int64_t off, n;
  uint8_t* base;
  size_t len;
  // The integers first (no JS runs while decoding them), the bytes last.
  if (!ArgInt64(info, i + 1, &off) || !ArgInt64(info, i + 2, &n) ||
      !ArgBytes(info, i, &base, &len))
    return false;
  if (off < 0 || n < 0 || static_cast<uint64_t>(off) > len ||
      static_cast<uint64_t>(n) > len - static_cast<uint64_t>(off)) {
    ThrowRangeError(env, "offset and length must lie inside the buffer");
    return false;
  }
  return PinValue(env, info[i], static_cast<size_t>(off), static_cast<size_t>(n),
                  copy_in);
}

// The view's bytes in *base, if [offset, offset + length) lies inside
// them; else a pending RangeError.
static bool
InsideView(napi_env env, napi_value view, size_t offset, size_t length,
           uint8_t** base) {
  size_t len;
  if (ViewBytes(env, view, base, &len) == 1 && offset <= len &&
      length <= len - offset)
    return true;
  ThrowRangeError(env, "offset and length must lie inside the buffer");
  return false;
}

void
Bounce::AddSegment(napi_env env, napi_value view, size_t offset, size_t length,
                   bool copy_in) {
  iov_.push_back({data_, length});
  // A write's bytes are in the bounce buffer already: its view is not
  // needed again, and a reference is an allocation and a global handle.
  if (copy_in) return;
  Segment s{nullptr, offset, length};
  napi_create_reference(env, view, 1, &s.view);
  segments_.push_back(s);
}

bool
Bounce::PinValue(napi_env env, napi_value view, size_t offset, size_t length,
                 bool copy_in) {
  uint8_t* base;
  if (!InsideView(env, view, offset, length, &base) || !Allocate(env, length))
    return false;
  if (copy_in && length > 0) memcpy(data_, base + offset, length);
  AddSegment(env, view, offset, length, copy_in);
  return true;
}

bool
Bounce::PinBorrowed(napi_env env, napi_value view, size_t offset,
                    size_t length, uint8_t* memory) {
  uint8_t* base;
  if (!InsideView(env, view, offset, length, &base)) return false;
  data_ = memory;
  size_ = length;
  borrowed_ = true;
  env_ = env;
  if (AddonData* d = GetAddonData(env)) d->pinned_ops++;
  AddSegment(env, view, offset, length, false);
  return true;
}

bool
Bounce::PinArray(const Napi::CallbackInfo& info, size_t i, bool copy_in) {
  napi_env env = info.Env();
  if (!info[i].IsArray()) {
    ThrowTypeError(env, "buffers must be an array of ArrayBufferViews");
    return false;
  }
  Napi::Array array = info[i].As<Napi::Array>();
  uint32_t count = array.Length();
  // No views is a valid readv/writev (of 0 bytes), as readv(2) and the
  // TypeScript layer, which passes [] through, have it.
  if (count > IOV_MAX) {
    ThrowRangeError(env, "buffers must hold at most IOV_MAX (1024) views");
    return false;
  }
  // Rule 2: every element is read (which may run getters) before any
  // view's bytes are taken.
  std::vector<napi_value> views(count);
  for (uint32_t k = 0; k < count; k++) {
    if (napi_get_element(env, array, k, &views[k]) != napi_ok) return false;
  }
  std::vector<std::pair<uint8_t*, size_t>> bytes(count);
  size_t total = 0;
  for (uint32_t k = 0; k < count; k++) {
    int r = ViewBytes(env, views[k], &bytes[k].first, &bytes[k].second);
    if (r != 1) {
      ThrowTypeError(env, "buffers must be an array of ArrayBufferViews");
      return false;
    }
    if (bytes[k].second > SSIZE_MAX - total) {
      ThrowRangeError(env, "buffers hold more than SSIZE_MAX bytes");
      return false;
    }
    total += bytes[k].second;
  }
  if (!Allocate(env, total)) return false;
  if (!copy_in) segments_.reserve(count);
  iov_.reserve(count);
  size_t at = 0;
  for (uint32_t k = 0; k < count; k++) {
    size_t n = bytes[k].second;
    iov_.push_back({data_ + at, n});
    at += n;
    if (copy_in) {
      // As in AddSegment: a write's views are not held.
      if (n > 0) memcpy(iov_.back().iov_base, bytes[k].first, n);
      continue;
    }
    Segment s{nullptr, 0, n};
    napi_create_reference(env, views[k], 1, &s.view);
    segments_.push_back(s);
  }
  return true;
}

long
Bounce::FinishCopy(long result, size_t count) {
  if (!pinned()) return result;
  if (result >= 0 && count > 0) {
    size_t left = count < size_ ? count : size_;
    const uint8_t* from = data_;
    for (const Segment& s : segments_) {
      if (left == 0) break;
      size_t n = left < s.length ? left : s.length;
      // An empty view (Buffer.alloc(0)) may have no data pointer at all:
      // memcpy must not be handed it, even for 0 bytes.
      if (n == 0) continue;
      napi_value view;
      uint8_t* base;
      size_t len;
      // The view's bytes as they are now: it may have been detached or
      // shrunk since submission.
      if (napi_get_reference_value(env_, s.view, &view) != napi_ok ||
          view == nullptr || ViewBytes(env_, view, &base, &len) != 1 ||
          s.offset > len || n > len - s.offset) {
        result = kResultDetached;
        break;
      }
      // A 0-byte view (detached before submission) has no address: memcpy
      // of null, even for 0 bytes, is undefined behaviour.
      if (n > 0) CopyOut(base + s.offset, from, n);
      from += n;
      left -= n;
    }
  }
  if (!borrowed_) GiveBlock(data_, size_ == 0 ? 1 : size_);
  Release();
  return result;
}

void
Bounce::Abandon() {
  if (!pinned()) return;
  // Borrowed memory is its owner's to leak (and count).
  if (!borrowed_) LeakOnPurpose(data_);
  Release();
}

void
Bounce::Release() {
  for (Segment& s : segments_) napi_delete_reference(env_, s.view);
  segments_.clear();
  iov_.clear();
  if (AddonData* d = GetAddonData(env_)) d->pinned_ops--;
  data_ = nullptr;
  size_ = 0;
  borrowed_ = false;
  env_ = nullptr;
}

}  // namespace iomodes
