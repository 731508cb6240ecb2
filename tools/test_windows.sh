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
[ -f "$WINEPREFIX/system.reg" ] || wineboot -i >/dev/null 2>&1
start=$(date +%s)
ctest --test-dir build-windows --output-on-failure -j"$(nproc)" --timeout 1200 -E vulkan
# The two longest Vulkan programs (minutes each on lavapipe, longer under Wine) are left to the
# Linux pass that runs before this script.
slow="recipe_vulkan|train_pytorch_vulkan"
echo "test_windows.sh: not run under Wine, for time: ${slow//|/, } (run on Linux)"
# One at a time: with two Wine processes on lavapipe side by side, bert_vulkan once hung (900 s;
# 20 s alone).
xvfb-run -a ctest --test-dir build-windows --output-on-failure --timeout 600 -R vulkan -E "$slow"
bash tools/windows_roundtrip.sh
echo "test_windows.sh: tests ran in $(( $(date +%s) - start )) s"
