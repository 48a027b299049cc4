#!/usr/bin/env bash
# Builds the N-API prebuild that ships in the npm tarball:
#   prebuilds/linux-x64/iomodes.glibc.node   (stripped; node-gyp-build loads it
#   on any Node >= 20 on glibc Linux x64, so `npm install iomodes` compiles nothing)
#
# Why a staging copy: prebuildify runs `node-gyp rebuild` in its cwd, which
# deletes build/ and moves the .node out of build/Release. Building in
# build-prebuild/ leaves the developer's (and the test run's) build/ alone.
#
# Offline: node-gyp compiles against this Node's own headers (npm_config_nodedir,
# default the prefix of the running node, e.g. /usr -> /usr/include/node) and
# never downloads a headers tarball.
set -euo pipefail
cd "$(dirname "$0")/.."

stage=build-prebuild
rm -rf "$stage"
mkdir -p "$stage"
cp -r package.json binding.gyp native "$stage"/

node_prefix=$(node -p 'require("path").resolve(process.execPath, "../..")')
export npm_config_nodedir="${npm_config_nodedir:-$node_prefix}"
if [[ ! -f "$npm_config_nodedir/include/node/node_api.h" ]]; then
  echo "prebuildify: no Node headers in $npm_config_nodedir/include/node; set npm_config_nodedir" >&2
  exit 1
fi
export JOBS="${JOBS:-max}"

# --target is this Node: with --napi the binary is version-independent, and
# naming the running version keeps prebuildify from picking (and fetching) another.
npx --no-install prebuildify "$stage" --out . --napi --strip --tag-libc --target "node@$(node -p process.versions.node)"
rm -rf "$stage"
ls -l prebuilds/*/
