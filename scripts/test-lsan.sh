#!/usr/bin/env bash
# LeakSanitizer on the native-heavy test files (rings, AIO, signals, watchers,
# the thread-pool backends, Worker teardown and the raw-binding fuzz):
#   npm run test:lsan [-- test files]
# Node itself is not leak-clean, so every Node process the run starts writes
# its leak report to a log (the tests' child processes at exit; vitest's
# workers, which end by a signal, after each file: IOMODES_LSAN=1 has the leak
# oracle in test/helpers call native.debug_leak_check()), and
# scripts/lsan-report.mjs keeps only the leaks that iomodes.node allocated: the
# first frame past the allocator is in the addon. Any such leak fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ "${IOMODES_ASAN_SKIP_BUILD:-}" != 1 || ! -f build-cmake/Debug/iomodes.node ]]; then
  npm run build:asan
fi
[[ -d dist ]] || npm run build:ts

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
files=("$@")
if ((${#files[@]} == 0)); then
  files=(test/async/ring.test.ts test/async/linux-aio.test.ts test/async/posix-aio.test.ts
    test/async/threadpool.test.ts test/signal.test.ts test/watcher.test.ts test/multiplex.test.ts
    test/worker-threads.test.ts test/native-fuzz.test.ts test/coro/hub.test.ts)
fi

# exitcode=0: a leak report must not fail the tests themselves (Node's own
# leaks would fail every one); the report below decides. symbolize=0 keeps
# Node's thousands of leaked blocks cheap to print: frames carry their module
# and offset, which is all the attribution needs.
status=0
LD_PRELOAD="$(gcc -print-file-name=libasan.so)" \
ASAN_OPTIONS="detect_leaks=1:log_path=$logs/lsan:symbolize=0:malloc_context_size=12" \
LSAN_OPTIONS="exitcode=0" IOMODES_LSAN=1 \
IOMODES_ADDON="$PWD/build-cmake/Debug/iomodes.node" \
  npx --no-install vitest run "${files[@]}" || status=$?

node scripts/lsan-report.mjs "$logs" "$PWD/build-cmake/Debug/iomodes.node" || status=$?
exit "$status"
