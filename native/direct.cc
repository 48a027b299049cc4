// Direct I/O and page-cache control: O_DIRECT alignment discovery and friends.
#include "addon.h"

namespace iomodes {

void
InitDirect(Napi::Env env, Napi::Object exports, Napi::Object constants) {}

}  // namespace iomodes
