// The watcher: a uv_poll_t on an fd, the one native async mechanism.
#include "addon.h"

namespace iomodes {

void
InitWatcher(Napi::Env env, Napi::Object exports, Napi::Object constants) {}

}  // namespace iomodes
