#!/usr/bin/env bash
# Cross-builds mltc for 64-bit Windows with Debian's mingw-w64: mltc.dll, mltc.exe, the tests and
# the example application, and a zip a user unpacks (DLLs beside the exe, the CMake package and
# the .pc file inside). The tests then run under Wine (ctest --test-dir build-windows).
#
# Debian has no Windows builds of OpenBLAS, cJSON, utf8proc or CLBlast; they come from pinned
# sources and checked files (sha256) and are built once into the cache (MLTC_WINDOWS_CACHE,
# default .cache/windows, git-ignored):
#   OpenBLAS  SciPy's Windows wheel from PyPI (a mingw build; its symbols carry a scipy_ prefix)
#   cJSON, utf8proc  the release sources of Debian's packages (pool *.orig.tar.gz), compiled here
#   CLBlast   the release source of Debian's package, built with mingw g++ (with --opencl only: it
#             had not finished after 30 minutes on a busy 2-core machine, so CI builds without
#             the OpenCL backend)
# OpenCL.dll and vulkan-1.dll are the system's loaders on Windows (Wine's under Wine); the build
# links import libraries for them: OpenCL's made with dlltool from the loader's exports, Vulkan's
# from libwine-dev.
#
# Usage: tools/build_windows.sh [--opencl] [--no-vulkan]
# Environment: MLTC_WINDOWS_CACHE, MLTC_WINDOWS_BUILD (default build-windows), MLTC_JOBS.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
cache=${MLTC_WINDOWS_CACHE:-$root/.cache/windows}
build=${MLTC_WINDOWS_BUILD:-$root/build-windows}
jobs=${MLTC_JOBS:-$(nproc)}
with_opencl=OFF
with_vulkan=ON
for arg in "$@"; do
  case "$arg" in
    --opencl) with_opencl=ON ;;
    --no-vulkan) with_vulkan=OFF ;;
    *) echo "build_windows.sh: unknown argument $arg" >&2; exit 2 ;;
  esac
done

triple=x86_64-w64-mingw32
gcc_dlls=/usr/lib/gcc/$triple/12-posix
sysroot=/usr/$triple
for tool in $triple-gcc-posix $triple-g++-posix $triple-dlltool; do
  command -v "$tool" >/dev/null || { echo "build_windows.sh: $tool is missing (tools/setup.sh installs it)" >&2; exit 1; }
done
[ -f "$sysroot/lib/libz.dll.a" ] || { echo "build_windows.sh: zlib for mingw is missing (libz-mingw-w64-dev)" >&2; exit 1; }

prefix=$cache/prefix
mkdir -p "$cache/src" "$prefix/bin" "$prefix/lib/pkgconfig" "$prefix/include"
debian=http://deb.debian.org/debian/pool/main

# fetch URL SHA256 FILE: downloads once into the cache, and only a file with that checksum.
fetch() {
  local url=$1 sum=$2 out=$cache/src/$3
  if [ ! -f "$out" ] || ! echo "$sum  $out" | sha256sum -c --quiet - 2>/dev/null; then
    curl -fsSL --retry 3 -o "$out.part" "$url"
    echo "$sum  $out.part" | sha256sum -c --quiet - || { echo "build_windows.sh: $url: wrong checksum" >&2; exit 1; }
    mv "$out.part" "$out"
  fi
}

# ---- OpenBLAS: SciPy's Windows wheel ---------------------------------------------------------
openblas_version=0.3.34.481.3
openblas_whl=scipy_openblas32-$openblas_version-py3-none-win_amd64.whl
if [ ! -f "$prefix/lib/pkgconfig/openblas.pc" ]; then
  if [ ! -f "$cache/src/$openblas_whl" ]; then
    python3 -m pip download -q --only-binary=:all: --platform win_amd64 --python-version 3.11 --no-deps \
      "scipy-openblas32==$openblas_version" -d "$cache/src"
  fi
  echo "963e311354df08856c22aad17d77209448d2d8fc3bc4b3b1d87912828797cf13  $cache/src/$openblas_whl" | sha256sum -c --quiet -
  rm -rf "$cache/openblas" && mkdir -p "$cache/openblas"
  python3 -m zipfile -e "$cache/src/$openblas_whl" "$cache/openblas"
  mkdir -p "$prefix/include/openblas"
  cp "$cache/openblas/scipy_openblas32/include/"*.h "$prefix/include/openblas/"
  cp "$cache/openblas/scipy_openblas32/lib/libscipy_openblas.dll" "$prefix/bin/"
  # Its import library (MSVC's format, which mingw's ld reads too).
  cp "$cache/openblas/scipy_openblas32/lib/libscipy_openblas.lib" "$prefix/lib/"
  cat > "$prefix/lib/pkgconfig/openblas.pc" <<EOF
Name: openblas
Description: OpenBLAS $openblas_version (SciPy's Windows build, symbols prefixed scipy_)
Version: $openblas_version
Libs: -L$prefix/lib -lscipy_openblas
Cflags: -I$prefix/include/openblas -DBLAS_SYMBOL_PREFIX=scipy_
EOF
fi

# ---- cJSON and utf8proc: one C file each, static ---------------------------------------------
# cc_static NAME SRCDIR FILE CFLAGS: compiles SRCDIR/FILE into lib$NAME.a.
cc_static() {
  local name=$1 dir=$2 file=$3 flags=$4 obj=$cache/$1.o
  $triple-gcc-posix -O2 -std=c99 $flags -c "$dir/$file" -o "$obj"
  rm -f "$prefix/lib/lib$name.a"
  $triple-ar rcs "$prefix/lib/lib$name.a" "$obj"
}
if [ ! -f "$prefix/lib/pkgconfig/libcjson.pc" ]; then
  fetch $debian/c/cjson/cjson_1.7.15.orig.tar.gz 5308fd4bd90cef7aa060558514de6a1a4a0819974a26e6ed13973c5f624c24b2 cjson_1.7.15.orig.tar.gz
  rm -rf "$cache/cjson" && mkdir -p "$cache/cjson" "$prefix/include/cjson"
  tar xzf "$cache/src/cjson_1.7.15.orig.tar.gz" -C "$cache/cjson" --strip-components=1
  cc_static cjson "$cache/cjson" cJSON.c ""
  cp "$cache/cjson/cJSON.h" "$prefix/include/cjson/"
  printf 'Name: libcjson\nDescription: cJSON 1.7.15\nVersion: 1.7.15\nLibs: -L%s/lib -lcjson\nCflags: -I%s/include\n' \
    "$prefix" "$prefix" > "$prefix/lib/pkgconfig/libcjson.pc"
fi
if [ ! -f "$prefix/lib/pkgconfig/libutf8proc.pc" ]; then
  fetch $debian/u/utf8proc/utf8proc_2.8.0.orig.tar.gz a0a60a79fe6f6d54e7d411facbfcc867a6e198608f2cd992490e46f04b1bcecc utf8proc_2.8.0.orig.tar.gz
  rm -rf "$cache/utf8proc" && mkdir -p "$cache/utf8proc"
  tar xzf "$cache/src/utf8proc_2.8.0.orig.tar.gz" -C "$cache/utf8proc" --strip-components=1
  cc_static utf8proc "$cache/utf8proc" utf8proc.c "-DUTF8PROC_STATIC"
  cp "$cache/utf8proc/utf8proc.h" "$prefix/include/"
  printf 'Name: libutf8proc\nDescription: utf8proc 2.8.0\nVersion: 2.8.0\nLibs: -L%s/lib -lutf8proc\nCflags: -I%s/include -DUTF8PROC_STATIC\n' \
    "$prefix" "$prefix" > "$prefix/lib/pkgconfig/libutf8proc.pc"
fi

# Header-only and system pieces: stb, the OpenCL and Vulkan headers, the loaders' import libraries.
mkdir -p "$prefix/include/stb"
cp /usr/include/stb/stb_ds.h "$prefix/include/stb/"
if [ "$with_opencl" = ON ]; then
  cp -r /usr/include/CL "$prefix/include/"
  if [ ! -f "$prefix/lib/libOpenCL.a" ]; then
    { echo "LIBRARY OpenCL.dll"; echo EXPORTS
      nm -D --without-symbol-versions "$(readlink -f /usr/lib/x86_64-linux-gnu/libOpenCL.so.1)" | awk '$2=="T" && $3 ~ /^cl/ {print $3}'
    } > "$cache/OpenCL.def"
    $triple-dlltool -d "$cache/OpenCL.def" -l "$prefix/lib/libOpenCL.a"
  fi
fi
if [ "$with_vulkan" = ON ]; then
  cp -r /usr/include/vulkan /usr/include/vk_video "$prefix/include/"
  cp /usr/lib/x86_64-linux-gnu/wine/x86_64-windows/libvulkan-1.a "$prefix/lib/"
fi

# ---- CLBlast: built with mingw g++ ------------------------------------------------------------
if [ "$with_opencl" = ON ] && [ ! -f "$prefix/lib/cmake/CLBlast/CLBlastConfig.cmake" ]; then
  fetch $debian/c/clblast/clblast_1.6.3.orig.tar.gz c05668c7461e8440fce48c9f7a8966a6f9e0923421acd7c0357ece9b1d83f20e clblast_1.6.3.orig.tar.gz
  rm -rf "$cache/clblast-src" "$cache/build-clblast" && mkdir -p "$cache/clblast-src"
  tar xzf "$cache/src/clblast_1.6.3.orig.tar.gz" -C "$cache/clblast-src" --strip-components=1
  start=$(date +%s)
  cmake -S "$cache/clblast-src" -B "$cache/build-clblast" -DCMAKE_TOOLCHAIN_FILE="$root/cmake/toolchain-mingw64.cmake" \
    -DMLTC_WINDOWS_PREFIX="$prefix" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$prefix" -DTUNERS=OFF \
    -DOPENCL_INCLUDE_DIRS="$prefix/include" -DOPENCL_LIBRARIES="$prefix/lib/libOpenCL.a" >/dev/null
  cmake --build "$cache/build-clblast" -j"$jobs" >/dev/null
  cmake --install "$cache/build-clblast" >/dev/null
  echo "build_windows.sh: CLBlast built in $(( $(date +%s) - start )) s"
fi

# The runtime DLLs every program needs beside it.
cp "$gcc_dlls/libgomp-1.dll" "$gcc_dlls/libgcc_s_seh-1.dll" "$gcc_dlls/libstdc++-6.dll" \
   "$sysroot/lib/libwinpthread-1.dll" "$sysroot/lib/zlib1.dll" "$prefix/bin/"

# ---- mltc ---------------------------------------------------------------------------------------
export PKG_CONFIG_LIBDIR=$prefix/lib/pkgconfig PKG_CONFIG_PATH=
# CTest runs every program through Wine; WINEPATH lets it find the dependencies' DLLs.
winepath_dir="Z:${prefix//\//\\}\\bin"
cmake -S . -B "$build" -DCMAKE_TOOLCHAIN_FILE="$root/cmake/toolchain-mingw64.cmake" -DMLTC_WINDOWS_PREFIX="$prefix" \
  -DCMAKE_BUILD_TYPE=Release -DMLTC_WERROR=ON -DMLTC_WITH_OPENCL=$with_opencl -DMLTC_WITH_VULKAN=$with_vulkan \
  -DMLTC_WITH_DRAWING=OFF -DMLTC_WITH_MPI=OFF \
  "-DCMAKE_CROSSCOMPILING_EMULATOR=env;WINEPATH=$winepath_dir;WINEDEBUG=-all;WINEDLLOVERRIDES=mscoree,mshtml=;wine" \
  -DZLIB_ROOT="$sysroot" >/dev/null
cmake --build "$build" -j"$jobs"

# ---- the zip: bin/ (mltc.exe, mltc.dll, the DLLs they need, the example), include/, lib/ ---------
stage=$build/stage
rm -rf "$stage" && cmake --install "$build" --prefix "$stage" >/dev/null
cp "$build/example_predict.exe" "$stage/bin/"
for dll in "$prefix"/bin/*.dll; do cp "$dll" "$stage/bin/"; done
version=$(sed -n 's/^project(mltc VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
zip_path=$build/mltc-$version-windows-x64.zip
rm -f "$zip_path"
(cd "$stage" && python3 -m zipfile -c "$zip_path" bin include lib)
echo "build_windows.sh: $zip_path"
