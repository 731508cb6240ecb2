#!/usr/bin/env bash
# The main job: set up, build, fetch all-MiniLM-L6-v2, fine-tune a classifier on Reuters-21578
# ModApte (90 topics) and score it on the full test set.
#
#   bash tools/reuters.sh [HEAD] [DEVICE] [EPOCHS] [MAX_LEN]
#     HEAD     bert (default), lmmtc or lam
#     DEVICE   cpu (default, or $MLTC_DEVICE), opencl[:N], vulkan[:N]
#     EPOCHS   3 by default;  MAX_LEN 128 by default (lmmtc needs room for 272 prompt tokens: 400)
#   MLTC_BLAS=mkl: the cpu device with oneMKL instead of OpenBLAS (tools/build_mkl.sh, build-mkl/)
#   MLTC_PRECISION=bf16: bf16 mixed precision (mltc --precision; the oneMKL build on a CPU with
#     AVX512-BF16 or AMX): about twice the speed of fp32 with AMX, slower without (README)
#   MLTC_MAX_STEPS=N: a short run, N training steps (mltc train --max-steps), scored with the
#     checkpoint it stopped at (last/); CI runs it in a fresh copy of the clone
#   MLTC_TEST_LIMIT=N: score the first N test documents only (default: all 3,019)
#   MLTC_DATA_DIR: where reuters-modapte/ is (default data/ in the repository; .gz or plain files)
# Output: runs/reuters-HEAD/ (best/, last/, train_log.jsonl, test_metrics.json); a short run
# starts afresh in runs/reuters-HEAD-stepsN/ each time.
set -euo pipefail
cd "$(dirname "$0")/.."
head="${1:-bert}"
device="${2:-${MLTC_DEVICE:-cpu}}"
epochs="${3:-3}"
default_len=128
[ "$head" = lmmtc ] && default_len=400
max_len="${4:-$default_len}"
data="${MLTC_DATA_DIR:-data}/reuters-modapte"
# data/ holds the files gzip-compressed, which mltc reads as they are; another MLTC_DATA_DIR may
# hold them plain.
file() { if [ -f "$1" ]; then echo "$1"; else echo "$1.gz"; fi; }
out="runs/reuters-$head"
max_steps=()
checkpoint=best
if [ -n "${MLTC_MAX_STEPS:-}" ]; then
  out="runs/reuters-$head-steps$MLTC_MAX_STEPS"
  rm -rf "$out"
  max_steps=(--max-steps "$MLTC_MAX_STEPS")
  checkpoint=last # a run stopped inside its first epoch has no best/ yet
fi

mltc=build/mltc
if [ "${MLTC_BLAS:-openblas}" = mkl ]; then
  case "$device" in cpu*) ;; *) echo "reuters.sh: MLTC_BLAS=mkl builds the cpu backend only, not $device" >&2; exit 2 ;; esac
  bash tools/build_mkl.sh
  mltc=build-mkl/mltc
else
  bash tools/build.sh
fi
[ -f models/all-MiniLM-L6-v2/model.safetensors ] || python3 tools/reference/fetch_minilm.py
# On CPUs OpenBLAS does not recognise, its generic kernels are several times slower.
if [ -z "${OPENBLAS_CORETYPE:-}" ] && grep -q avx512f /proc/cpuinfo 2>/dev/null; then export OPENBLAS_CORETYPE=SkylakeX
elif [ -z "${OPENBLAS_CORETYPE:-}" ] && grep -q avx2 /proc/cpuinfo 2>/dev/null; then export OPENBLAS_CORETYPE=Haswell; fi

# Idle OpenMP threads that spin steal the cores OpenBLAS is about to use (measured: GEMMs at half
# speed with OMP_WAIT_POLICY=active on 2 cores).
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"

precision=()
[ -n "${MLTC_PRECISION:-}" ] && precision=(--precision "$MLTC_PRECISION")
resume=()
[ -f "$out/last/mltc.json" ] && resume=(--resume)
# ModApte has no dev split, and choosing anything on the test set would flatter the score: the
# default recipe holds out 10% of the training file as dev data (--dev-split), tunes the decision
# threshold on it and keeps the best epoch in best/; the test set is read once, at the end.
"$mltc" train --model models/all-MiniLM-L6-v2 --train "$(file "$data/train.jsonl")" \
  --labels "$(file "$data/labels.txt")" --head "$head" --out "$out" --device "$device" --epochs "$epochs" \
  --max-len "$max_len" "${precision[@]}" "${resume[@]}" "${max_steps[@]}"
test_file=$(file "$data/test.jsonl")
if [ -n "${MLTC_TEST_LIMIT:-}" ]; then
  { gzip -cdf "$test_file" || true; } | head -n "$MLTC_TEST_LIMIT" >"$out/test-first-$MLTC_TEST_LIMIT.jsonl"
  test_file="$out/test-first-$MLTC_TEST_LIMIT.jsonl"
fi
"$mltc" eval --checkpoint "$out/$checkpoint" --data "$test_file" --device "$device" \
  "${precision[@]}" --json | tee "$out/test_metrics.json"
