#!/usr/bin/env bash
# Sets up the dependencies and builds mltc into build/ (warnings are errors, as in CI).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DMLTC_WERROR=ON >/dev/null
cmake --build build -j"$(nproc)"
