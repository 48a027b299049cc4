// Bounce buffers for operations in flight: see inflight.h.
#include "inflight.h"

#include <limits.h>

#include <cstdlib>
#include <cstring>

namespace iomodes {

std::atomic<uint64_t> g_leaked_on_teardown{0};

// O_DIRECT wants the buffer aligned to the logical block size (512 or 4096
// bytes); a page covers both.
static const size_t kAlign = 4096;

Bounce::~Bounce() {
  // Only reached with memory still pinned if the owner skipped Finish and
  // Abandon: leaking is the safe choice, as in Abandon.
  if (pinned()) Abandon();
}

bool
Bounce::Allocate(napi_env env, size_t size) {
  void* p = nullptr;
  // At least one byte, so a zero-length operation still has a valid address.
  if (posix_memalign(&p, kAlign, size == 0 ? 1 : size) != 0) {
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
  if (!Allocate(env, static_cast<size_t>(n))) return false;
  if (copy_in && n > 0) memcpy(data_, base + off, static_cast<size_t>(n));
  Segment s{nullptr, static_cast<size_t>(off), static_cast<size_t>(n)};
  napi_create_reference(env, info[i], 1, &s.view);
  segments_.push_back(s);
  iov_.push_back({data_, static_cast<size_t>(n)});
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
  if (count == 0 || count > IOV_MAX) {
    ThrowRangeError(env, "buffers must hold 1 to IOV_MAX (1024) views");
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
  segments_.reserve(count);
  iov_.reserve(count);
  size_t at = 0;
  for (uint32_t k = 0; k < count; k++) {
    size_t n = bytes[k].second;
    if (copy_in && n > 0) memcpy(data_ + at, bytes[k].first, n);
    Segment s{nullptr, 0, n};
    napi_create_reference(env, views[k], 1, &s.view);
    segments_.push_back(s);
    iov_.push_back({data_ + at, n});
    at += n;
  }
  return true;
}

long
Bounce::Finish(long result, bool copy_out) {
  if (!pinned()) return result;
  if (copy_out && result > 0) {
    size_t left = static_cast<size_t>(result);
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
      memcpy(base + s.offset, from, n);
      from += n;
      left -= n;
    }
  }
  free(data_);
  Release();
  return result;
}

void
Bounce::Abandon() {
  if (!pinned()) return;
  g_leaked_on_teardown++;
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
  env_ = nullptr;
}

}  // namespace iomodes
