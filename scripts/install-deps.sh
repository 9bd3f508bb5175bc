#!/usr/bin/env bash
# Installs what neuralop needs to build, test and benchmark on Debian 12 (bookworm), with
# apt-get. Idempotent: packages already present are left alone, and nothing runs when none
# is missing. Run as root (or with sudo available).
#   install-deps.sh          everything (what CI and scripts/test.sh need)
#   install-deps.sh --main   only what the README's main job needs (g++, no clang, no test tools)
set -euo pipefail

packages=(
  g++ meson ninja-build pkg-config               # g++ 12; build
  libeigen3-dev libfftw3-dev                     # Eigen 3.4 Tensor module, FFTW float + double
  zlib1g-dev                                     # .npz and .pt archives (deflate)
  libtomlplusplus-dev                            # the neuralop CLI's config files (toml++, header-only)
  libstb-dev                                     # PNG pictures (stb_image_write) and their text (stb_easy_font)
  libopenmpi-dev openmpi-bin                     # data-parallel training over MPI (Meson option mpi; tests, the CLI under mpirun)
)
case "${1:-}" in
  --main) ;;
  "") packages+=(
        build-essential clang libclang-rt-14-dev   # clang 14 with its sanitizer runtimes
        cmake ccache                               # the install test's CMake consumer; compile cache
        doctest-dev                                # tests
        python3                                    # tools/ scripts
      ) ;;
  *) echo "usage: install-deps.sh [--main]" >&2; exit 2 ;;
esac

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: everything is already installed"
  exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then sudo=(sudo); else
    echo "install-deps: missing packages (${missing[*]}); run this script as root" >&2
    exit 1
  fi
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
