#!/bin/sh
# Runs a per-backend test program, through $MLTC_TEST_LAUNCHER when it names one: a driver's
# launcher from tools/drivers.sh (.cache/drivers/NAME/run), which sets up that driver alone.
if [ -n "${MLTC_TEST_LAUNCHER:-}" ]; then exec "$MLTC_TEST_LAUNCHER" "$@"; fi
exec "$@"
