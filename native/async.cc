// Asynchronous I/O: io_uring (raw syscalls) and Linux native AIO.
#include "addon.h"

namespace iomodes {

void
InitAsync(Napi::Env env, Napi::Object exports, Napi::Object constants) {}

}  // namespace iomodes
