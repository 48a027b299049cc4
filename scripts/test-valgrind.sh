#!/usr/bin/env bash
# valgrind memcheck on a native-heavy subset (scripts/valgrind-workload.mjs:
# every backend, closes with work in flight, a Worker torn down):
#   npm run test:valgrind
# Node runs --jitless (memcheck and self-modifying JIT code do not mix well)
# on the plain build of the addon. Node has reports of its own, so
# scripts/valgrind-report.mjs keeps the errors and definite leaks with a frame
# in iomodes.node; any such one fails. Takes a few minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind is not installed (apt-get install valgrind)" >&2; exit 1; }
[[ -d dist ]] || npm run build:ts

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
valgrind --tool=memcheck --error-exitcode=0 --leak-check=full --show-leak-kinds=definite \
  --num-callers=30 --log-file="$log" \
  node --jitless scripts/valgrind-workload.mjs || status=$?
node scripts/valgrind-report.mjs "$log" || status=$?
exit "$status"
