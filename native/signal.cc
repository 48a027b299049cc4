// Signal-driven I/O: O_ASYNC, F_SETOWN_EX, F_SETSIG and real-time signals.
#include "addon.h"

namespace iomodes {

void
InitSignal(Napi::Env env, Napi::Object exports, Napi::Object constants) {}

}  // namespace iomodes
