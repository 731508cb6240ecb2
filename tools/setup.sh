#!/usr/bin/env bash
# Installs every build and test dependency of mltc on Debian 12 (bookworm) with apt.
# Idempotent and quiet: prints nothing when everything is already installed.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  ocl-icd-opencl-dev opencl-c-headers pocl-opencl-icd libclblast-dev
  libvulkan-dev mesa-vulkan-drivers glslc vulkan-validationlayers
  libstb-dev libopenblas-openmp-dev libcjson-dev libutf8proc-dev zlib1g-dev
  clang libclang-rt-dev
  libplplot-dev plplot-driver-cairo libcairo2-dev libpng-dev chromium
  openmpi-bin libopenmpi-dev
  curl gcc-mingw-w64-x86-64-posix g++-mingw-w64-x86-64-posix libz-mingw-w64-dev wine wine64 libwine-dev xvfb
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "setup: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
