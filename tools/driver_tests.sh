#!/usr/bin/env bash
# Runs the per-backend tests of build/ on each extra driver that tools/drivers.sh fetches (CI:
# tools/test.sh). Per driver it prints what `mltc devices` sees through that driver's launcher,
# checks that device 0 of its API is that driver, and runs the tests with the launcher
# (MLTC_TEST_LAUNCHER, tests/launch.sh). A driver that cannot be fetched is reported SKIPPED;
# one that is fetched but fails a test (or skips one: its device did not open) fails this script.
# Arguments: the drivers (default: all that tools/drivers.sh knows).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${MLTC_BUILD_DIR:-build}
# Every op, the fused ops and attention, the encoder, training, its counts and micro-batches, the
# device's argument checks.
# The other per-backend tests (api, bench, minilm, recipe, report, train_pytorch, mpi) run the
# same device paths under the layers above; on Intel's runtime they took 9 more minutes of
# test time on the shared 2-core machine, and mpi over 14 alone.
tests="ops|bert|train|device_counts|micro_batch|device_args|fused_ops|fused_attention"
root=$PWD/.cache/drivers

failed=()
while IFS= read -r line; do
  echo "driver_tests.sh: $line"
  name=${line%%:*}
  case $line in
    "$name: ready"*) ;;
    *) echo "driver_tests.sh: $name SKIPPED (not fetched; its tests did not run)"; continue ;;
  esac
  api=$(cat "$root/$name/api") expect=$(cat "$root/$name/expect")
  start=$SECONDS
  # Device 0 of the API must be this driver: the tests open "$api:0".
  devices=$("$root/$name/run" "$build/mltc" devices 2>&1) || true
  dev0=$(printf '%s\n' "$devices" | awk -v d="$api:0" '$1 == d {p = 1; print; next} /^[a-z]+(:[0-9]+)? / {p = 0} p')
  printf '%s\n' "$dev0" | sed "s/^/driver_tests.sh: $name: /"
  if ! printf '%s\n' "$dev0" | grep -qF -- "$expect"; then
    printf '%s\n' "$devices"
    echo "driver_tests.sh: $name: $api:0 is not the driver fetched (expected '$expect' in mltc devices)" >&2
    failed+=("$name")
    continue
  fi
  log=$(mktemp)
  if MLTC_TEST_LAUNCHER="$root/$name/run" ctest --test-dir "$build" --output-on-failure -j"$(nproc)" \
      --timeout 1200 -R "^($tests)_$api\$" >"$log" 2>&1 && ! grep -q "Not Run\|Skipped" "$log"; then
    grep -E "Test +#|tests passed|Total Test time" "$log" | sed "s/^/driver_tests.sh: $name: /"
    echo "driver_tests.sh: $name passed in $((SECONDS - start)) s"
  else
    cat "$log"
    echo "driver_tests.sh: $name FAILED (a test failed or was skipped on it)" >&2
    failed+=("$name")
  fi
  rm -f "$log"
done < <(bash tools/drivers.sh "$@")
wait $! # drivers.sh's own status: 2 when a driver was named wrongly

if [ ${#failed[@]} -gt 0 ]; then
  echo "driver_tests.sh: failed on ${failed[*]}" >&2
  exit 1
fi
