#!/usr/bin/env bash
# Checkpoints cross between the Linux and the Windows build (run under Wine), on the cpu backend:
#   1. Linux trains a small classifier (test_api's run, kept); Linux and Windows predict with it;
#   2. Windows trains from the same inputs; Windows and Linux predict with its checkpoint;
#   3. the example application (mltc.dll) predicts under Wine as it does on Linux.
# Each pair of outputs must be the same bytes (Windows' console line ends aside). Prints
# "N passed, N failed". Needs build/ (tools/build.sh) and build-windows/ (tools/build_windows.sh).
set -uo pipefail
cd "$(dirname "$0")/.."
lin=build win=${MLTC_WINDOWS_BUILD:-build-windows}
export WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=" MLTC_DEVICE=cpu OMP_WAIT_POLICY=passive
export WINEPREFIX=${WINEPREFIX:-$PWD/.cache/windows/wine}
dlls=$(sed -n 's/^MLTC_WINDOWS_PREFIX:[A-Z]*=//p' "$win/CMakeCache.txt")/bin
export WINEPATH="Z:${dlls//\//\\}"
work=$(mktemp -d "${TMPDIR:-/tmp}/mltc-roundtrip-XXXXXX")
trap 'rm -rf "$work"' EXIT
passed=0 failed=0
# same WHAT A B: the two files hold the same bytes once \r\n is \n.
same() {
  if [ -s "$2" ] && cmp -s <(tr -d '\r' < "$2") <(tr -d '\r' < "$3"); then
    passed=$((passed + 1)); echo "ok: $1"
  else
    failed=$((failed + 1)); echo "FAIL: $1"; diff <(tr -d '\r' < "$2") <(tr -d '\r' < "$3") | head -5
  fi
}
win_run() { wine "$@"; }

texts=$work/texts.txt
printf '%s\n' "Oil prices rose after OPEC cut output" "Net profit up 12 pct on higher sales" \
  "The central bank raised interest rates" "Wheat and corn exports fell" > "$texts"

# 1. Linux writes, both read.
"$lin/tests/test_api" cpu "$work/lin" > "$work/lin.log" 2>&1 || { echo "FAIL: Linux training (test_api)"; cat "$work/lin.log" | tail -5; echo "0 passed, 1 failed"; exit 1; }
ckpt=$work/lin/out/best
"$lin/mltc" predict --checkpoint "$ckpt" --input "$texts" > "$work/p_lin.txt"
win_run "$win/mltc.exe" predict --checkpoint "$ckpt" --input "$texts" > "$work/p_win.txt"
same "a checkpoint written on Linux predicts the same on Windows" "$work/p_lin.txt" "$work/p_win.txt"

# 2. Windows writes, both read.
win_run "$win/mltc.exe" train --model "$work/lin/bert" --train "$work/lin/train.jsonl" --labels "$work/lin/labels.txt" \
  --head bert --out "$work/win" --epochs 1 --batch 4 --max-len 32 > "$work/win_train.log" 2>&1
if [ -f "$work/win/last/model.safetensors" ]; then
  win_run "$win/mltc.exe" predict --checkpoint "$work/win/last" --input "$texts" > "$work/q_win.txt"
  "$lin/mltc" predict --checkpoint "$work/win/last" --input "$texts" > "$work/q_lin.txt"
  same "a checkpoint written on Windows predicts the same on Linux" "$work/q_win.txt" "$work/q_lin.txt"
  # Files written in binary on both: no line ends translated.
  for f in vocab.txt config.json; do
    if cmp -s "$ckpt/$f" "$work/win/last/$f"; then
      passed=$((passed + 1)); echo "ok: $f of the Windows checkpoint is the same bytes as Linux's"
    else
      failed=$((failed + 1)); echo "FAIL: $f of the Windows checkpoint differs from Linux's"
    fi
  done
else
  failed=$((failed + 1)); echo "FAIL: training under Wine wrote no checkpoint"; tail -5 "$work/win_train.log"
fi

# 3. The example application against mltc.dll.
"$lin/example_predict" "$ckpt" "Oil prices rose after OPEC cut output" > "$work/e_lin.txt"
win_run "$win/example_predict.exe" "$ckpt" "Oil prices rose after OPEC cut output" > "$work/e_win.txt"
same "the example application prints the same under Wine" "$work/e_lin.txt" "$work/e_win.txt"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
