#!/usr/bin/env bash
# Builds mltc with Intel oneMKL as the CPU backend's BLAS (cmake -DMLTC_BLAS=mkl) into build-mkl/,
# CPU backend only. oneMKL comes from PyPI into the git-ignored .mkl/ (a Python venv, ~600 MB):
# only the libraries, headers and pkg-config files; the GNU OpenMP layer needs neither TBB nor
# Intel's OpenMP runtime. Exits 3 when oneMKL cannot be installed (e.g. no network).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
MKL_VERSION=2025.3.1
pc=.mkl/lib/pkgconfig/mkl-dynamic-lp64-gomp.pc
if [ ! -f "$pc" ]; then
  rm -rf .mkl
  if ! { python3 -m venv .mkl && .mkl/bin/pip install -q --disable-pip-version-check --no-deps \
      "mkl==$MKL_VERSION" "mkl-include==$MKL_VERSION" "mkl-devel==$MKL_VERSION" "onemkl-license==$MKL_VERSION"; }; then
    echo "build_mkl.sh: could not install oneMKL $MKL_VERSION from PyPI into .mkl/" >&2
    exit 3
  fi
fi
PKG_CONFIG_PATH="$PWD/.mkl/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}" \
  cmake -S . -B build-mkl -DCMAKE_BUILD_TYPE=Release -DMLTC_WERROR=ON -DMLTC_BLAS=mkl \
  -DMLTC_WITH_OPENCL=OFF -DMLTC_WITH_VULKAN=OFF >/dev/null
cmake --build build-mkl -j"$(nproc)"
