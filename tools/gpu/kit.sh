#!/usr/bin/env bash
# Packs what a GPU machine with no network needs to run mltc's GPU tests and benchmarks into
# .gpu/kit.tar.xz (git-ignored): a Release build of the CLI, bench_ops and the per-backend test
# programs, the shared libraries they load that a stock system lacks (the OpenCL ICD loader,
# CLBlast, the Vulkan loader, OpenBLAS, cJSON, utf8proc, zlib and their own needs), and the data
# and vocabulary the tests read (data/, or $MLTC_DATA_DIR). tools/gpu/run.sh unpacks and
# uses it there. Built on this Debian 12 machine (glibc 2.36), so it runs on any newer x86-64 glibc.
#
#   bash tools/gpu/kit.sh            # then carry .gpu to the GPU machine (well under 64 MiB)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
data=${MLTC_DATA_DIR:-$root/data}
[ -d "$data/reuters-modapte" ] || { echo "kit.sh: no data at $data (set MLTC_DATA_DIR)" >&2; exit 2; }

bash tools/setup.sh
# Without MPI: the kit carries no mpirun, and the CLI would otherwise need Open MPI's libraries.
cmake -S . -B build-gpu -DCMAKE_BUILD_TYPE=Release -DMLTC_WERROR=ON -DMLTC_WITH_MPI=OFF >/dev/null
cmake --build build-gpu -j"$(nproc)" >/dev/null

kit=.gpu/kit
rm -rf .gpu && mkdir -p "$kit/bin" "$kit/lib" "$kit/data"
bins=(build-gpu/mltc build-gpu/bench_ops)
for t in test_ops test_device_args test_bert test_train test_train_pytorch test_bench test_api \
         test_opencl_backend test_vulkan_backend test_vulkan_paths; do
  bins+=("build-gpu/tests/$t")
done
cp "${bins[@]}" "$kit/bin/"
strip "$kit"/bin/*

# Every library the programs load except the C runtime every Linux has; libgomp and
# libstdc++ go too, as an image with no compiler toolchain may lack them.
ldd "${bins[@]}" | awk '/=> \// {print $3}' | sort -u | while read -r lib; do
  case "$(basename "$lib")" in
    libc.so.*|libm.so.*|libpthread.so.*|libdl.so.*|librt.so.*|ld-linux*) ;;
    *) cp -L "$lib" "$kit/lib/" ;;
  esac
done

cp -r "$data/vocab" "$data/semeval2018-ec" "$data/reuters-modapte" "$kit/data/"
tar -C .gpu -cJf .gpu/kit.tar.xz kit
rm -rf "$kit"
echo "kit.sh: .gpu/kit.tar.xz, $(du -h .gpu/kit.tar.xz | cut -f1) (commit $(git rev-parse --short HEAD))"
