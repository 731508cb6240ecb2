#!/usr/bin/env bash
# Memory and undefined-behaviour checks, run by tools/test.sh after the normal tests:
#  1. the CPU and OpenCL tests once more in a build under AddressSanitizer (leaks included on the
#     CPU; see below for OpenCL) and
#     UndefinedBehaviorSanitizer (gcc, build-asan/). The Vulkan tests are left out: lavapipe
#     under ASan takes minutes per training test; the validation-layer run covers that side.
#  2. the fuzz harnesses of the file readers (tests/fuzz: clang + libFuzzer, build-fuzz/), each
#     over its seed corpus and 20000 mutations from a fixed seed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh

jobs="$(nproc)"
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
# Without MPI: LeakSanitizer would report Open MPI's own allocations at the exit of every rank;
# the library's side of data parallel training is checked here by test_data_parallel (threads).
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DMLTC_WERROR=ON -DCMAKE_C_FLAGS="-O1 -g $san" \
  -DCMAKE_EXE_LINKER_FLAGS="$san" -DCMAKE_SHARED_LINKER_FLAGS="$san" -DMLTC_WITH_MPI=OFF >/dev/null
cmake --build build-asan -j"$jobs"
# Third-party caches that live as long as the process (tools/lsan.supp says which and why).
export LSAN_OPTIONS="suppressions=$PWD/tools/lsan.supp"
# install_consumer builds an application without the sanitizer flags against this library.
ASAN_OPTIONS=detect_leaks=1 ctest --test-dir build-asan --output-on-failure -j"$jobs" --timeout 1200 \
  -E "opencl|vulkan|install_consumer"
# The OpenCL tests without leak detection: LeakSanitizer's stop-the-world tracer crashed at exit
# on PoCL's worker threads once in three runs ("LeakSanitizer has encountered a fatal error", no
# leak reported); AddressSanitizer's checks stay on.
ASAN_OPTIONS=detect_leaks=0 ctest --test-dir build-asan --output-on-failure -j"$jobs" --timeout 1200 -R opencl

cmake -S tests/fuzz -B build-fuzz -DCMAKE_C_COMPILER=clang >/dev/null
cmake --build build-fuzz -j"$jobs"
ctest --test-dir build-fuzz --output-on-failure -j"$jobs" --timeout 600
