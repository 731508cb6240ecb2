#!/usr/bin/env bash
# Runs mltc's OpenCL and Vulkan tests and the GPU benchmark rows on a GPU machine from the kit
# that tools/gpu/kit.sh packed (.gpu/kit.tar.xz), from the repository root there:
#
#   bash tools/gpu/run.sh tests     # every per-backend test program on opencl and vulkan
#   bash tools/gpu/run.sh bench     # compare.py: mltc opencl + vulkan beside PyTorch on cuda,
#                                   # fp32 and then with bf16 autocast
#
# Logs and the report go to $OUT (the device tool's folder that comes back), else .gpu/out.
# Where no NVIDIA driver is found it uses whatever OpenCL and Vulkan drivers the system has
# (PoCL and lavapipe here: that is how this script was checked on a machine without a GPU), and
# PyTorch's comparison needs CUDA: without it the mltc rows stand alone.
# Settings: SEQ, BATCH, STEPS, WARMUP, REPEAT, CONFIGS (defaults 128, 8, 10, 2, 3, minilm,base).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
root=$PWD
mode=${1:-}
case "$mode" in tests|bench) ;; *) echo "usage: run.sh tests|bench" >&2; exit 2 ;; esac
out=${OUT:-$root/.gpu/out}
mkdir -p "$out"
[ -f .gpu/kit.tar.xz ] || { echo "run.sh: no .gpu/kit.tar.xz (run tools/gpu/kit.sh and carry .gpu)" >&2; exit 2; }

kit=/tmp/mltc-kit/kit
if [ ! -x "$kit/bin/mltc" ]; then
  mkdir -p /tmp/mltc-kit && tar -C /tmp/mltc-kit -xJf .gpu/kit.tar.xz || exit 1
  # A library the system already has is taken from the system: its own libstdc++ is at least
  # as new as the kit's (Debian 12's) and is what its GPU drivers were built against.
  for lib in "$kit"/lib/*; do
    if ldconfig -p | grep -q "^[[:space:]]*$(basename "$lib") "; then rm -f "$lib"; fi
  done
fi
export LD_LIBRARY_PATH="$kit/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export MLTC_SOURCE_DIR=$root MLTC_DATA_DIR=$kit/data OMP_WAIT_POLICY=passive PYTHONUNBUFFERED=1

# NVIDIA's OpenCL driver is found through an .icd file naming its library; an image that has
# the library but no /etc/OpenCL/vendors entry gets one of its own.
nv_ocl=$(find /usr/local/nvidia /usr/lib /usr/lib64 /usr/lib/x86_64-linux-gnu -name 'libnvidia-opencl.so.1' \
  2>/dev/null | head -n 1)
if [ -n "$nv_ocl" ] && ! grep -qs nvidia /etc/OpenCL/vendors/*.icd; then
  mkdir -p /tmp/mltc-icd && echo "$nv_ocl" >/tmp/mltc-icd/nvidia.icd
  export OCL_ICD_VENDORS=/tmp/mltc-icd
fi
nv_vk=$(find /usr/local/nvidia /usr/share/vulkan /etc/vulkan -name 'nvidia_icd*.json' 2>/dev/null | head -n 1)
[ -n "$nv_vk" ] && export VK_DRIVER_FILES=$nv_vk

{
  echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "OpenCL driver: ${nv_ocl:-system default}; Vulkan driver: ${nv_vk:-system default}"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo "no nvidia-smi"
  "$kit/bin/mltc" devices
} 2>&1 | tee "$out/devices.txt"

if [ "$mode" = tests ]; then
  for backend in opencl vulkan; do
    for t in test_ops test_device_args test_bert test_train test_train_pytorch test_bench test_api; do
      start=$(date +%s)
      if "$kit/bin/$t" "$backend" >"$out/$t-$backend.log" 2>&1; then r=passed; else r=FAILED; fi
      echo "$t $backend: $r ($(($(date +%s) - start)) s; $(tail -n 1 "$out/$t-$backend.log"))"
    done
  done | tee "$out/tests.txt"
  for t in test_opencl_backend test_vulkan_backend test_vulkan_paths; do
    if "$kit/bin/$t" >"$out/$t.log" 2>&1; then r=passed; else r=FAILED; fi
    echo "$t: $r ($(tail -n 1 "$out/$t.log"))"
  done | tee -a "$out/tests.txt"
  ! grep -q FAILED "$out/tests.txt"
  exit $?
fi

py=$(command -v python3)
gpu_torch=$("$py" -c 'import torch; print("cuda" if torch.cuda.is_available() else "")' 2>/dev/null)
args=(--mltc "$kit/bin/mltc" --backends "opencl,vulkan" --configs "${CONFIGS:-minilm,base}" --seq "${SEQ:-128}"
      --batch "${BATCH:-8}" --steps "${STEPS:-10}" --warmup "${WARMUP:-2}" --repeat "${REPEAT:-3}" --threads 0)
[ -n "$gpu_torch" ] && args+=(--torch-gpu "$gpu_torch")
"$py" tools/reference/compare.py "${args[@]}" --json-out "$out/speed-fp32.json" >"$out/speed-fp32.md" \
  2>"$out/speed-fp32.log"
rc=$?
cat "$out/speed-fp32.md"
if [ -n "$gpu_torch" ]; then
  # PyTorch with bf16 autocast, an extra non-fp32 figure beside the same mltc rows.
  "$py" tools/reference/compare.py "${args[@]}" --autocast bf16 --json-out "$out/speed-bf16.json" \
    >"$out/speed-bf16.md" 2>"$out/speed-bf16.log" || rc=1
  cat "$out/speed-bf16.md"
fi
exit $rc
