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
#     AVX512-BF16 or AMX): about twice the speed of fp32 there
# Output: runs/reuters-HEAD/ (best/, last/, train_log.jsonl, test_metrics.json).
set -euo pipefail
cd "$(dirname "$0")/.."
head="${1:-bert}"
device="${2:-${MLTC_DEVICE:-cpu}}"
epochs="${3:-3}"
default_len=128
[ "$head" = lmmtc ] && default_len=400
max_len="${4:-$default_len}"
data=../shared/data/reuters-modapte
out="runs/reuters-$head"

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
# ModApte has no dev split, and choosing epochs on the test set would flatter the score: without
# --dev, best/ is the last epoch.
"$mltc" train --model models/all-MiniLM-L6-v2 --train "$data/train.jsonl" \
  --labels "$data/labels.txt" --head "$head" --out "$out" --device "$device" --epochs "$epochs" \
  --max-len "$max_len" "${precision[@]}" "${resume[@]}"
"$mltc" eval --checkpoint "$out/best" --data "$data/test.jsonl" --device "$device" "${precision[@]}" --json |
  tee "$out/test_metrics.json"
