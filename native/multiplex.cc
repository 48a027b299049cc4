// I/O multiplexing: select, poll and epoll.
#include "addon.h"

namespace iomodes {

void
InitMultiplex(Napi::Env env, Napi::Object exports, Napi::Object constants) {}

}  // namespace iomodes
