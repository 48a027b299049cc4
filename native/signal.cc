// Signal-driven I/O: O_ASYNC, F_SETOWN_EX (F_OWNER_TID), F_SETSIG and
// real-time signals, delivered to JS through a self-pipe.
//
// The kernel signals the owner of an O_ASYNC fd when the fd becomes ready.
// With F_SETSIG set to a real-time signal, the signal is queued (one per
// event, not merged) and carries siginfo: si_fd, si_band (the poll bits)
// and si_code (POLL_IN, POLL_OUT, POLL_HUP...). When the real-time queue is
// full (RLIMIT_SIGPENDING), the kernel falls back to a plain SIGIO with no
// siginfo (fs/fcntl.c, send_sigio_to_task): the overflow, after which only
// a full rescan of the fds can tell what is ready.
//
// The handler (one per signal, process-wide, installed on first use and
// refcounted across environments) does only async-signal-safe work: it
// saves errno, finds the self-pipes of the thread it runs on in a fixed
// table of atomics, write()s one fixed-size record to each, sets an atomic
// overflow flag where the pipe is full, and restores errno. It never
// allocates, locks or calls into Node. The signal reaches the right thread
// because each fd is owned by the thread that enabled it (F_OWNER_TID):
// Node has many threads, and a process-directed signal may be delivered to
// any of them.
//
// A SignalIo object owns one self-pipe (both ends owned fds: a plain
// close() of them is refused) and the fds it enabled, each with the flags,
// owner and signal it had before, which disable() restores. close() and the
// env cleanup hook restore every fd first, so no signal can be aimed at a
// thread id that a later thread may reuse, and only then unpublish the pipe
// and close it. A handler that someone else installs over ours (libuv's,
// for process.on('SIGIO')) is not fought: enable() refuses (-EBUSY) until
// ours is back, since a signal with no handler of ours kills the process.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include "wrap.h"

namespace iomodes {

namespace {

// What the handler writes: 20 bytes, well under PIPE_BUF, so each write
// is atomic and records never interleave.
struct Record {
  int32_t fd;     // si_fd, or -1 for a signal without fd information
  int32_t signo;
  int32_t code;   // si_code: POLL_IN..POLL_HUP, SI_KERNEL for plain SIGIO
  int32_t band;   // si_band: the poll bits (they fit 32 bits)
  int32_t tid;    // the thread the handler ran on
};
static_assert(sizeof(Record) == 20, "the record layout is shared with TS");

// One published self-pipe. tid == 0: free or being set up. Only the thread
// named by tid publishes or unpublishes its slots, and the handler only
// writes to slots whose tid is its own thread's, so a slot never changes
// under a handler that uses it.
struct Slot {
  std::atomic<pid_t> tid{0};
  std::atomic<int> wfd{-1};
  std::atomic<int> overflow{0};  // the pipe was full: records were lost
};

const int kMaxSlots = 1024;
Slot g_slots[kMaxSlots];
std::atomic<int> g_slot_high{0};  // slots in use are below this index

// Process-wide, taken by the loop threads only (never in the handler).
std::mutex g_mu;
bool g_slot_used[kMaxSlots];  // guarded by g_mu
struct Installed {
  int refs = 0;  // SignalIo objects holding the signal
};
Installed g_installed[_NSIG];  // guarded by g_mu

void
OnSignal(int signo, siginfo_t* info, void*) {
  int saved = errno;
  Record r;
  int code = info->si_code;
  // si_fd is only meaningful for the kernel's SIGIO-style siginfo: codes
  // POLL_IN..POLL_HUP (or SI_SIGIO, for the few signals whose own codes
  // would be ambiguous). A plain SIGIO (SI_KERNEL) has a zeroed union.
  bool has_fd = (code >= POLL_IN && code <= POLL_HUP) || code == SI_SIGIO;
  r.fd = has_fd ? info->si_fd : -1;
  r.signo = signo;
  r.code = code;
  r.band = has_fd ? static_cast<int32_t>(info->si_band) : 0;
  pid_t tid = gettid();
  r.tid = tid;
  int high = g_slot_high.load(std::memory_order_acquire);
  for (int i = 0; i < high; i++) {
    Slot& s = g_slots[i];
    if (s.tid.load(std::memory_order_acquire) != tid) continue;
    int fd = s.wfd.load(std::memory_order_relaxed);
    ssize_t n;
    do {
      n = write(fd, &r, sizeof(r));
    } while (n == -1 && errno == EINTR);
    if (n != static_cast<ssize_t>(sizeof(r)))
      s.overflow.store(1, std::memory_order_relaxed);
  }
  errno = saved;
}

bool
IsOurs(const struct sigaction& sa) {
  return (sa.sa_flags & SA_SIGINFO) && sa.sa_sigaction == OnSignal;
}

bool
IsFree(const struct sigaction& sa) {
  return !(sa.sa_flags & SA_SIGINFO) &&
         (sa.sa_handler == SIG_DFL || sa.sa_handler == SIG_IGN);
}

// Signals iomodes may take: SIGIO and the real-time ones glibc leaves to
// applications (SIGRTMIN is 34: glibc keeps 32 and 33 for its threads).
bool
Allowed(int signo) {
  return signo == SIGIO || (signo >= SIGRTMIN && signo <= SIGRTMAX);
}

// Installs our handler for signo, or takes one more reference to it.
// -EBUSY when someone else handles the signal (refused, never replaced).
long
InstallLocked(int signo) {
  Installed& in = g_installed[signo];
  struct sigaction now;
  if (sigaction(signo, nullptr, &now) != 0) return -errno;
  if (IsOurs(now)) {
    in.refs++;
    return 0;
  }
  if (in.refs > 0 || !IsFree(now)) return -EBUSY;  // replaced, or not ours
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_sigaction = OnSignal;
  sigfillset(&sa.sa_mask);
  // SA_RESTART: our signals, which can be frequent, should not make the
  // loop's own syscalls fail with EINTR more than they must.
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  if (sigaction(signo, &sa, nullptr) != 0) return -errno;
  in.refs = 1;
  return 0;
}

// Drops a reference. The handler itself stays installed, idle, when the
// last one goes: a duplicate of an enabled fd (dup, fork, SCM_RIGHTS)
// keeps O_ASYNC and its owner after our fd is disabled or closed, and
// would go on signalling; under the default disposition that signal would
// kill the process. Idle, it finds no pipe and does nothing. Whoever wants
// the signal later (process.on('SIGIO')) may install over it.
void
UninstallLocked(int signo) {
  Installed& in = g_installed[signo];
  if (in.refs > 0) in.refs--;
}

// What an enabled fd had before, restored by disable(), and which file it
// was, to know it again (see RestoreIfOurs).
struct Saved {
  int flags;
  struct f_owner_ex owner;
  int signal;
  dev_t dev;
  ino_t ino;
};

// The state of one SignalIo, apart from its JS object: the env cleanup
// hook owns it until close(), so a JS object collected while open (only a
// raw native one can be) leaves its teardown to the hook.
struct State {
  napi_env env = nullptr;
  pid_t tid = 0;
  int slot = -1;
  int rfd = -1, wfd = -1;
  double generation = 0;
  std::unordered_map<int, Saved> fds;
  std::unordered_set<int> signals;  // held: one reference each
  bool hooked = false;
  bool orphan = false;  // the JS object is gone: the hook deletes us
};

long
RestoreFd(int fd, const Saved& saved) {
  // O_ASYNC goes first, so no signal is aimed at the old owner after.
  if (fcntl(fd, F_SETFL, saved.flags) == -1) return -errno;
  fcntl(fd, F_SETOWN_EX, &saved.owner);
  fcntl(fd, F_SETSIG, saved.signal);
  return 0;
}

// Restores fd only if it still is what enable() set up: the same file
// (st_dev, st_ino), still owned by our thread (F_OWNER_TID, tid); -EBADF
// if not, and the fd is left alone.
//
// Found by the native fuzz: an fd closed behind our back (fs.closeSync)
// whose number a new file took got the old fd's flags, owner and signal
// from disable() or close(): O_APPEND cleared and O_NONBLOCK set on an
// unrelated file (or O_NONBLOCK cleared on a libuv fd: a blocked loop).
// And of two SignalIos that enabled one fd, the second to close put
// O_ASYNC back, aimed at us, after the first had restored the fd.
long
RestoreIfOurs(int fd, const Saved& saved, pid_t tid) {
  struct stat st;
  if (fstat(fd, &st) == -1) return -errno;
  struct f_owner_ex owner;
  if (st.st_dev != saved.dev || st.st_ino != saved.ino ||
      fcntl(fd, F_GETOWN_EX, &owner) == -1 || owner.type != F_OWNER_TID ||
      owner.pid != tid)
    return -EBADF;
  return RestoreFd(fd, saved);
}

void
Shutdown(State* s) {
  for (const auto& entry : s->fds) RestoreIfOurs(entry.first, entry.second, s->tid);
  s->fds.clear();
  {
    std::lock_guard<std::mutex> lock(g_mu);
    if (s->slot >= 0) {
      g_slots[s->slot].tid.store(0, std::memory_order_release);
      g_slots[s->slot].wfd.store(-1, std::memory_order_relaxed);
      g_slot_used[s->slot] = false;
    }
    for (int signo : s->signals) UninstallLocked(signo);
  }
  s->signals.clear();
  s->slot = -1;
  if (AddonData* data = GetAddonData(s->env)) {
    for (int fd : {s->rfd, s->wfd}) {
      auto it = data->owned_fds.find(fd);
      if (it != data->owned_fds.end() && it->second == s->generation)
        data->owned_fds.erase(it);
    }
  }
  if (s->rfd >= 0) close(s->rfd);
  if (s->wfd >= 0) close(s->wfd);
  s->rfd = s->wfd = -1;
}

void
OnTeardown(void* arg) {
  State* s = static_cast<State*>(arg);
  s->hooked = false;
  Shutdown(s);
  if (s->orphan) delete s;
}

class SignalIo {
 public:
  static constexpr const char* kName = "SignalIo";
  static const napi_type_tag kTag;

  static Napi::Value Define(napi_env env) {
    using W = Wrap<SignalIo>;
    static const napi_property_descriptor props[] = {
        W::Method<&SignalIo::Open>("open"),
        W::Method<&SignalIo::Acquire>("acquire"),
        W::Method<&SignalIo::Enable>("enable"),
        W::Method<&SignalIo::Disable>("disable"),
        W::Method<&SignalIo::Drain>("drain"),
        W::Method<&SignalIo::TakeOverflow>("takeOverflow"),
        W::Method<&SignalIo::Close>("close"),
        W::Getter<&SignalIo::GetFd>("fd"),
        W::Getter<&SignalIo::GetTid>("tid"),
    };
    return W::Define(env, props);
  }

  static SignalIo* Create(const Napi::CallbackInfo& info) {
    return new SignalIo(info.Env());
  }
  void Wrapped(napi_env, napi_value) {}

  ~SignalIo() {
    // Memory only (wrap.h): an open State is left to the cleanup hook.
    if (state_ == nullptr) return;
    if (state_->hooked) state_->orphan = true;
    else delete state_;
  }

  // open() -> 0 | -errno: the self-pipe, published for this thread.
  Napi::Value Open(const Napi::CallbackInfo& info) {
    if (state_ != nullptr || closed_)
      return Result(info.Env(), closed_ ? -EBADF : -EALREADY);
    AddonData* data = GetAddonData(env_);
    if (data == nullptr) return Result(info.Env(), -EINVAL);
    int p[2];
    if (pipe2(p, O_NONBLOCK | O_CLOEXEC) == -1) return Result(info.Env(), -errno);
    // Room for ~50,000 records before the pipe overflows (best effort:
    // beyond /proc/sys/fs/pipe-max-size it stays 64 KiB).
    fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
    int slot = -1;
    {
      std::lock_guard<std::mutex> lock(g_mu);
      for (int i = 0; i < kMaxSlots && slot < 0; i++)
        if (!g_slot_used[i]) slot = i;
      if (slot >= 0) {
        g_slot_used[slot] = true;
        Slot& s = g_slots[slot];
        s.overflow.store(0, std::memory_order_relaxed);
        s.wfd.store(p[1], std::memory_order_relaxed);
        s.tid.store(gettid(), std::memory_order_release);
        if (slot >= g_slot_high.load(std::memory_order_relaxed))
          g_slot_high.store(slot + 1, std::memory_order_release);
      }
    }
    if (slot < 0) {
      close(p[0]);
      close(p[1]);
      return Result(info.Env(), -EMFILE);
    }
    state_ = new State();
    state_->env = env_;
    state_->tid = gettid();
    state_->slot = slot;
    state_->rfd = p[0];
    state_->wfd = p[1];
    state_->generation = data->next_generation++;
    data->owned_fds[p[0]] = state_->generation;
    data->owned_fds[p[1]] = state_->generation;
    state_->hooked = napi_add_env_cleanup_hook(env_, OnTeardown, state_) == napi_ok;
    return Result(info.Env(), 0);
  }

  // acquire(signo) -> 0 | -errno: our handler for signo, installed or
  // referenced once more (once per object). -EBUSY: another handler has it.
  // The signal is unblocked on this thread, which the kernel targets.
  Napi::Value Acquire(const Napi::CallbackInfo& info) {
    int32_t signo;
    if (!ArgSignal(info, 0, &signo)) return Napi::Value();
    if (state_ == nullptr) return Result(info.Env(), -EBADF);
    long r = 0;
    {
      std::lock_guard<std::mutex> lock(g_mu);
      if (state_->signals.count(signo) != 0) {
        struct sigaction now;
        if (sigaction(signo, nullptr, &now) == 0 && !IsOurs(now)) r = -EBUSY;
      } else {
        r = InstallLocked(signo);
        if (r == 0) state_->signals.insert(signo);
      }
    }
    if (r == 0) {
      sigset_t set;
      sigemptyset(&set);
      sigaddset(&set, signo);
      pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
    }
    return Result(info.Env(), r);
  }

  // enable(fd, signo) -> 0 | -errno. signo 0 is the classic form: plain
  // SIGIO, no siginfo. Needs our handlers for signo and for SIGIO (the
  // overflow signal) acquired first, and still in place (-EBUSY if not),
  // since either signal without them would kill the process. -EEXIST:
  // already enabled here; -EBUSY: the fd is owned by an iomodes object.
  Napi::Value Enable(const Napi::CallbackInfo& info) {
    int32_t fd, signo;
    if (!ArgInt32(info, 0, &fd) || !ArgInt32(info, 1, &signo))
      return Napi::Value();
    if (signo != 0 && !Allowed(signo)) {
      ThrowRangeError(info.Env(), "signo must be 0, SIGIO or SIGRTMIN..SIGRTMAX");
      return Napi::Value();
    }
    if (state_ == nullptr) return Result(info.Env(), -EBADF);
    if (fd < 0) return Result(info.Env(), -EBADF);
    if (state_->fds.count(fd) != 0) return Result(info.Env(), -EEXIST);
    if (IsOwnedFd(env_, fd)) return Result(info.Env(), -EBUSY);
    if (!Held(SIGIO) || (signo != 0 && !Held(signo))) return Result(info.Env(), -EBUSY);
    Saved saved;
    saved.flags = fcntl(fd, F_GETFL);
    if (saved.flags == -1) return Result(info.Env(), -errno);
    if (fcntl(fd, F_GETOWN_EX, &saved.owner) == -1) return Result(info.Env(), -errno);
    saved.signal = fcntl(fd, F_GETSIG);
    if (saved.signal == -1) return Result(info.Env(), -errno);
    struct stat st;
    if (fstat(fd, &st) == -1) return Result(info.Env(), -errno);
    saved.dev = st.st_dev;
    saved.ino = st.st_ino;
    struct f_owner_ex owner = {F_OWNER_TID, state_->tid};
    long r = 0;
    if (fcntl(fd, F_SETSIG, signo) == -1 || fcntl(fd, F_SETOWN_EX, &owner) == -1 ||
        fcntl(fd, F_SETFL, saved.flags | O_ASYNC) == -1) {
      r = -errno;
      RestoreFd(fd, saved);
      return Result(info.Env(), r);
    }
    state_->fds[fd] = saved;
    return Result(info.Env(), 0);
  }

  // disable(fd) -> 0 | -errno: the fd's flags, owner and signal as they
  // were. -ENOENT if not enabled here; the record goes even if the fd was
  // closed meanwhile, or is no longer what enable() set up (its number
  // reused, or its owner changed since): -EBADF, and the fd is untouched.
  Napi::Value Disable(const Napi::CallbackInfo& info) {
    int32_t fd;
    if (!ArgInt32(info, 0, &fd)) return Napi::Value();
    if (state_ == nullptr) return Result(info.Env(), -EBADF);
    auto it = state_->fds.find(fd);
    if (it == state_->fds.end()) return Result(info.Env(), -ENOENT);
    Saved saved = it->second;
    state_->fds.erase(it);
    return Result(info.Env(), RestoreIfOurs(fd, saved, state_->tid));
  }

  // drain(out: Int32Array) -> records: reads whole records from the pipe
  // into out, five int32 each (fd, signo, code, band, tid); 0 when empty.
  Napi::Value Drain(const Napi::CallbackInfo& info) {
    uint8_t* out;
    size_t len;
    if (!ArgBytes(info, 0, &out, &len)) return Napi::Value();
    if (state_ == nullptr) return Result(info.Env(), -EBADF);
    size_t want = len / sizeof(Record) * sizeof(Record);
    if (want == 0) return Result(info.Env(), 0);
    ssize_t n = IOMODES_RETRY(read(state_->rfd, out, want));
    if (n == -EAGAIN) return Result(info.Env(), 0);
    if (n < 0) return Result(info.Env(), n);
    // Records are written whole (atomic pipe writes) and read in multiples
    // of their size, so n is always a multiple.
    return Result(info.Env(), n / static_cast<long>(sizeof(Record)));
  }

  // takeOverflow() -> 0 | 1: whether the pipe was full since the last call.
  Napi::Value TakeOverflow(const Napi::CallbackInfo& info) {
    if (state_ == nullptr) return Result(info.Env(), -EBADF);
    return Result(info.Env(),
                  g_slots[state_->slot].overflow.exchange(0, std::memory_order_relaxed));
  }

  // close() -> 0: every fd restored, the signals released, the pipe
  // unpublished and closed. Idempotent.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    closed_ = true;
    if (state_ != nullptr) {
      if (state_->hooked) napi_remove_env_cleanup_hook(env_, OnTeardown, state_);
      Shutdown(state_);
      delete state_;
      state_ = nullptr;
    }
    return Result(info.Env(), 0);
  }

  Napi::Value GetFd(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), state_ ? state_->rfd : -1);
  }

  Napi::Value GetTid(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), state_ ? state_->tid : gettid());
  }

 private:
  explicit SignalIo(napi_env env) : env_(env) {}

  bool Held(int signo) {
    if (state_->signals.count(signo) == 0) return false;
    struct sigaction now;
    return sigaction(signo, nullptr, &now) == 0 && IsOurs(now);
  }

  static bool ArgSignal(const Napi::CallbackInfo& info, size_t i, int32_t* out) {
    if (!ArgInt32(info, i, out)) return false;
    if (Allowed(*out)) return true;
    ThrowRangeError(info.Env(), "signo must be SIGIO or SIGRTMIN..SIGRTMAX");
    return false;
  }

  napi_env env_;
  State* state_ = nullptr;
  bool closed_ = false;
};

const napi_type_tag SignalIo::kTag = {0x696f6d6f64657373ULL, 0x69676e616c696f3aULL};

// signal_handler(signo) -> 0 free (default or ignored), 1 ours, 2 someone
// else's | -errno: what is installed now, for choosing a signal.
Napi::Value
SignalHandler(const Napi::CallbackInfo& info) {
  int32_t signo;
  if (!ArgInt32(info, 0, &signo)) return Napi::Value();
  if (signo < 1 || signo >= _NSIG) return Result(info.Env(), -EINVAL);
  struct sigaction now;
  if (sigaction(signo, nullptr, &now) != 0) return Result(info.Env(), -errno);
  return Result(info.Env(), IsOurs(now) ? 1 : IsFree(now) ? 0 : 2);
}

}  // namespace

void
InitSignal(Napi::Env env, Napi::Object exports, Napi::Object constants) {
  exports.Set("SignalIo", SignalIo::Define(env));
  Export(exports, "signal_handler", SignalHandler);
#define C(name) constants.Set(#name, Napi::Number::New(env, name))
  // SIGRTMIN/SIGRTMAX are glibc function calls, not kernel constants: glibc
  // keeps the first real-time signals for its threads (so 34, not 32).
  C(SIGRTMIN); C(SIGRTMAX); C(SIGIO);
  C(POLL_IN); C(POLL_OUT); C(POLL_MSG); C(POLL_ERR); C(POLL_PRI); C(POLL_HUP);
  C(SI_KERNEL); C(SI_SIGIO);
  // si_band's bits beside poll()'s: the kernel sets the *NORM ones too.
  C(POLLRDNORM); C(POLLWRNORM);
  constants.Set("SIGNAL_RECORD_SIZE", Napi::Number::New(env, sizeof(Record)));
#undef C
}

}  // namespace iomodes
