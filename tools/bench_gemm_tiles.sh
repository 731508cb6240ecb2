#!/usr/bin/env bash
# The Vulkan GEMM's tiles side by side: tools/bench_ops's matrix products once per tile
# (MLTC_VK_GEMM_TILE), then as the backend picks them per shape (auto).
#   bash tools/bench_gemm_tiles.sh [DEVICE] [TOKENS]     (default vulkan, 2048 tokens)
set -euo pipefail
cd "$(dirname "$0")/.."
device=${1:-vulkan}
tokens=${2:-2048}
for tile in large medium small auto; do
  echo "== $tile"
  if [ "$tile" = auto ]; then unset MLTC_VK_GEMM_TILE; else export MLTC_VK_GEMM_TILE=$tile; fi
  build/bench_ops --device "$device" --tokens "$tokens" | grep -E "^op|^gemm"
done
