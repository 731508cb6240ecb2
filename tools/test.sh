#!/usr/bin/env bash
# Sets up, builds and runs every test (CTest). This is the command CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/build.sh
ctest --test-dir build --output-on-failure -j"$(nproc)" --timeout 900
