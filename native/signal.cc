// Signal-driven I/O: O_ASYNC, F_SETOWN_EX, F_SETSIG and real-time signals.
#include <signal.h>

#include "addon.h"

namespace iomodes {

void
InitSignal(Napi::Env env, Napi::Object exports, Napi::Object constants) {
#define C(name) constants.Set(#name, Napi::Number::New(env, name))
  // SIGRTMIN/SIGRTMAX are glibc function calls, not kernel constants: glibc
  // keeps the first real-time signals for its threads (so 34, not 32).
  C(SIGRTMIN); C(SIGRTMAX); C(SIGIO);
#undef C
}

}  // namespace iomodes
