#!/usr/bin/env bash
# Installs neuralop into a temporary prefix and builds a small consumer against the installed
# tree twice: with Meson (dependency('neuralop') through pkg-config) and with CMake
# (find_package(neuralop)). Usage: run_install_test.sh SOURCE_DIR
set -euo pipefail
src=$(cd "$1" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/neuralop-install.XXXXXX")
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix

echo "== install into $prefix"
meson setup "$work/build" "$src" --prefix "$prefix" \
  -Dtests=false -Dexamples=false -Dbenchmarks=false -Dcuda=disabled -Dcli=disabled >"$work/setup.log" ||
  { cat "$work/setup.log"; exit 1; }
meson install -C "$work/build" --quiet >/dev/null

test -f "$prefix/include/neuralop/neuralop.hpp"
test -f "$prefix/share/pkgconfig/neuralop.pc"
test -f "$prefix/share/cmake/neuralop/neuralopConfig.cmake"

# The consumers compile without optimization: this checks the install, not speed.
echo "== Meson consumer (pkg-config)"
PKG_CONFIG_PATH="$prefix/share/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}" \
  meson setup "$work/meson" "$src/tests/install/consumer_meson" -Dbuildtype=plain >"$work/meson.log" ||
  { cat "$work/meson.log"; exit 1; }
ninja -C "$work/meson" >"$work/meson-build.log" || { cat "$work/meson-build.log"; exit 1; }
"$work/meson/consumer"

echo "== CMake consumer (find_package)"
cmake -S "$src/tests/install/consumer_cmake" -B "$work/cmake" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_BUILD_TYPE= >"$work/cmake.log" || { cat "$work/cmake.log"; exit 1; }
cmake --build "$work/cmake" >"$work/cmake-build.log" || { cat "$work/cmake-build.log"; exit 1; }
"$work/cmake/consumer"
echo "install test passed"
