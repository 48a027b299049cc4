#!/usr/bin/env bash
# Builds the N-API prebuilds that ship in the npm tarball:
#   prebuilds/linux-x64/iomodes.glibc.node
#   prebuilds/linux-arm64/iomodes.glibc.node
# (stripped; node-gyp-build loads the one for its arch on any Node >= 20 on
# glibc Linux, so `npm install iomodes` compiles nothing). The architecture
# that is not this machine's is cross-compiled with Debian's GNU toolchain
# for it (g++-aarch64-linux-gnu on x64, g++-x86-64-linux-gnu on arm64), from
# the same sources and binding.gyp flags. `npm run test:arm64` runs the arm64
# one under qemu-user.
#
# IOMODES_PREBUILD_ARCHS picks the architectures (default "x64 arm64"); set it
# to "x64" on a machine without the cross toolchain. A requested arch whose
# toolchain is missing fails, naming the Debian package: a release must not
# silently ship without it.
#
# Why a staging copy: prebuildify runs `node-gyp rebuild` in its cwd, which
# deletes build/ and moves the .node out of build/Release. Building in
# build-prebuild/ leaves the developer's (and the test run's) build/ alone.
#
# Offline: node-gyp compiles against this Node's own headers (npm_config_nodedir,
# default the prefix of the running node, e.g. /usr -> /usr/include/node) and
# never downloads a headers tarball. The headers are the same for every arch
# (N-API is C, and node-addon-api is header-only).
set -euo pipefail
cd "$(dirname "$0")/.."

archs=${IOMODES_PREBUILD_ARCHS:-x64 arm64}
host=$(node -p process.arch)

node_prefix=$(node -p 'require("path").resolve(process.execPath, "../..")')
export npm_config_nodedir="${npm_config_nodedir:-$node_prefix}"
if [[ ! -f "$npm_config_nodedir/include/node/node_api.h" ]]; then
  echo "prebuildify: no Node headers in $npm_config_nodedir/include/node; set npm_config_nodedir" >&2
  exit 1
fi
export JOBS="${JOBS:-max}"

# GNU triplet and Debian package of the cross compiler for a Node arch.
triplet() {
  case "$1" in
    x64) echo x86_64-linux-gnu ;;
    arm64) echo aarch64-linux-gnu ;;
    *) echo "prebuildify: no prebuild for arch '$1' (x64, arm64)" >&2; return 1 ;;
  esac
}

# Check every toolchain before compiling anything, so a missing one fails in
# a second, not after the first build.
for arch in $archs; do
  t=$(triplet "$arch")
  if [[ "$arch" != "$host" ]] && ! command -v "$t-g++" >/dev/null; then
    echo "prebuildify: cannot cross-compile for $arch: $t-g++ is missing." >&2
    echo "  install it: apt-get install g++-${t//_/-} binutils-${t//_/-}" >&2
    echo "  or build only this machine's arch: IOMODES_PREBUILD_ARCHS=$host npm run prebuildify" >&2
    exit 1
  fi
done

stage=build-prebuild
trap 'rm -rf "$stage"' EXIT
for arch in $archs; do
  rm -rf "$stage"
  mkdir -p "$stage"
  cp -r package.json binding.gyp native "$stage"/
  t=$(triplet "$arch")
  cross=()
  if [[ "$arch" != "$host" ]]; then
    # gyp's make generator compiles and links target code with $CC/$CXX/$LINK
    # (and archives with $AR); prebuildify strips with PREBUILD_STRIP_BIN.
    # --arch makes node-gyp set target_arch, which only names the build here.
    cross=(env CC="$t-gcc" CXX="$t-g++" LINK="$t-g++" AR="$t-ar" PREBUILD_STRIP_BIN="$t-strip")
  fi
  echo "prebuildify: linux-$arch${cross:+ (cross-compiled with $t-g++)}"
  # --target is this Node: with --napi the binary is version-independent, and
  # naming the running version keeps prebuildify from picking (and fetching) another.
  "${cross[@]}" npx --no-install prebuildify "$stage" --out . --napi --strip --tag-libc \
    --arch "$arch" --target "node@$(node -p process.versions.node)"
  # A wrong-arch binary would only fail on a user's machine: check the ELF
  # machine field here (the arm64 one is run for real by npm run test:arm64).
  want=$([[ "$arch" == arm64 ]] && echo AArch64 || echo X86-64)
  file=prebuilds/linux-$arch/iomodes.glibc.node
  if ! LC_ALL=C readelf -h "$file" | grep -q "Machine:.*$want"; then
    echo "prebuildify: $file is not an $want binary" >&2
    exit 1
  fi
done
ls -l prebuilds/*/
