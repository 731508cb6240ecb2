#!/usr/bin/env bash
# Every Vulkan shader compiled for AMD RDNA3 (gfx1100) by Mesa's RADV on its null device (no AMD
# GPU needed) and its registers, spills, LDS and code size printed by build/shader_stats; fails
# when a pipeline spills. The variants compiled are each shader at its specialization defaults
# and those the backend creates while test_ops and the fused ops' tests run on the default Vulkan
# device (logged through MLTC_VK_PIPELINE_LOG). The table also goes to
# build/shader_stats_rdna3.json.
# Known to spill, and shown but not failed: the fused attention's shaders, which keep a 64-float
# query row and accumulator per invocation (its forward at head size 64 spills about 330
# registers on RDNA3, its dq and dk/dv stages more); they need a tile-cooperative rewrite.
# Any other pipeline that spills fails.
#   bash tools/shader_stats.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
if [ ! -x "$build/shader_stats" ]; then
  echo "shader_stats: SKIPPED: $build/shader_stats not built (Vulkan off?)"
  exit 0
fi
icd=""
for f in /usr/share/vulkan/icd.d/radeon_icd.x86_64.json; do [ -f "$f" ] && icd=$f; done
if [ -z "$icd" ]; then
  echo "shader_stats: SKIPPED: Mesa's RADV (mesa-vulkan-drivers, radeon_icd.x86_64.json) is not installed"
  exit 0
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for t in test_ops test_fused_ops test_fused_attention; do
  MLTC_VK_PIPELINE_LOG=$log "$build/tests/$t" vulkan >/dev/null
done
rc=77
# Mesa names the family gfx1100 in older releases and navi31 in newer ones.
for family in gfx1100 navi31; do
  set +e
  RADV_FORCE_FAMILY=$family VK_ICD_FILENAMES=$icd VK_DRIVER_FILES=$icd \
    "$build/shader_stats" --variants "$log" --max-spills 0 \
    --known-spills flash_attention_forward,flash_attention_backward --json "$build/shader_stats_rdna3.json" 2>"$log.err"
  rc=$?
  set -e
  [ "$rc" -ne 77 ] && break
done
if [ "$rc" -eq 77 ]; then
  echo "shader_stats: SKIPPED: RADV offered no null device for RDNA3: $(tail -1 "$log.err")"
  rm -f "$log.err"
  exit 0
fi
cat "$log.err" >&2
rm -f "$log.err"
exit "$rc"
