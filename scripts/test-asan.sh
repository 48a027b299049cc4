#!/usr/bin/env bash
# The test suite on the AddressSanitizer + UndefinedBehaviorSanitizer build:
#   npm run test:asan [-- vitest arguments, e.g. test/multiplex.test.ts]
# CI runs exactly this. Node itself is not instrumented, so the ASan runtime
# is preloaded and IOMODES_ADDON points lib/native.ts at the sanitized addon;
# tests that start programs other than Node drop the preload for them
# (withoutPreload() in test/helpers). A UBSan finding aborts the process.
#
# ASAN_OPTIONS: leak detection stays off here because Node itself is not
# leak-clean; scripts/test-lsan.sh runs LeakSanitizer on the native-heavy
# files with suppressions for Node's own allocations.
#
# Left out by default (pass your own file list to run them anyway):
#   test/package.test.ts  installs npm pack tarballs in a clean environment, so
#                         it never loads the sanitized addon; its compiles are
#                         CI's slowest minutes.
#   test/cli/plot.test.ts draws the charts in TypeScript and Chromium: no
#                         native code.
# IOMODES_ASAN_SKIP_BUILD=1 reuses an existing build-cmake/Debug.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ "${IOMODES_ASAN_SKIP_BUILD:-}" != 1 || ! -f build-cmake/Debug/iomodes.node ]]; then
  npm run build:asan
fi
[[ -d dist ]] || npm run build:ts

args=("$@")
if ((${#args[@]} == 0)) || [[ "${args[0]}" == --* ]]; then
  args=(--exclude test/package.test.ts --exclude test/cli/plot.test.ts "${args[@]}")
fi

LD_PRELOAD="$(gcc -print-file-name=libasan.so)" \
ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}" \
UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}" \
IOMODES_ADDON="$PWD/build-cmake/Debug/iomodes.node" \
  exec npx --no-install vitest run "${args[@]}"
