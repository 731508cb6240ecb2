#!/usr/bin/env bash
# The Windows build, tested under Wine: builds it (tools/build_windows.sh), runs its tests through
# CTest's emulator (Wine): the cpu backend, then Vulkan through winevulkan to lavapipe under
# xvfb-run (Wine 8 loads Vulkan only with a display), then the checkpoint round trip Linux ->
# Windows -> Linux and the example application (tools/windows_roundtrip.sh). Needs build/.
set -euo pipefail
cd "$(dirname "$0")/.."
export WINEPREFIX=${WINEPREFIX:-$PWD/.cache/windows/wine} WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
start=$(date +%s)
bash tools/build_windows.sh "$@" | tail -1
echo "test_windows.sh: built in $(( $(date +%s) - start )) s"
# A new Wine prefix is made once (about 15 s), not inside the first test's time.
# A new prefix finishes setting itself up (winevulkan's driver registration among it) after
# wineboot returns: wait for the server, or the first Vulkan test finds no driver.
[ -f "$WINEPREFIX/system.reg" ] || wineboot -i >/dev/null 2>&1
wineserver -w
start=$(date +%s)
ctest --test-dir build-windows --output-on-failure -j"$(nproc)" --timeout 1200 -E vulkan
# The two longest Vulkan programs (minutes each on lavapipe, longer under Wine) are left to the
# Linux pass that runs before this script.
slow="recipe_vulkan|train_pytorch_vulkan"
echo "test_windows.sh: not run under Wine, for time: ${slow//|/, } (run on Linux)"
# One at a time: with two Wine processes on lavapipe side by side, bert_vulkan once hung (900 s;
# 20 s alone).
# Every Vulkan test must run: one skipped (no device through winevulkan) fails here.
vk_log=$(mktemp)
xvfb-run -a ctest --test-dir build-windows --output-on-failure --timeout 600 -R vulkan -E "$slow" | tee "$vk_log"
if grep -q "(Skipped)" "$vk_log"; then
  echo "test_windows.sh: a Vulkan test was skipped under Wine (winevulkan found no device); failing"
  rm -f "$vk_log"
  exit 1
fi
rm -f "$vk_log"
bash tools/windows_roundtrip.sh
echo "test_windows.sh: tests ran in $(( $(date +%s) - start )) s"
