#!/usr/bin/env bash
# Fetches the extra OpenCL and Vulkan drivers CI tests mltc on, besides the system's PoCL and
# lavapipe, into the git-ignored .cache/drivers/ (reused when present; nothing is installed on
# the system):
#   intel-opencl    Intel's CPU runtime for OpenCL, from PyPI (intel-opencl-rt with tbb and
#                   intel-cmplr-lib-rt), found through a private OCL_ICD_VENDORS folder;
#   mesa-lavapipe   lavapipe (Vulkan) of Mesa from Debian sid: sid's .debs and their library
#                   closure through a private apt state, unpacked with dpkg -x, run under sid's
#                   own dynamic loader;
#   mesa-rusticl    rusticl (OpenCL on llvmpipe) from the same unpack. Its paths to libclc
#                   (/usr/lib/clc) and clang's headers (/usr/lib/llvm-N) are compiled in (no
#                   variable overrides them), so it runs in a private mount namespace where the
#                   unpacked ones are laid over /usr/lib (root, or a user namespace; else skipped).
# Each ready driver gets .cache/drivers/NAME/run, which runs a command with that driver as the
# only device of its API:  .cache/drivers/mesa-lavapipe/run build/mltc devices
# Prints one line per driver: "NAME: ready (API): ENV" or "NAME: skipped: REASON".
# Arguments name the drivers to fetch (default: all). Exits 0 unless it is used wrongly.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD/.cache/drivers
mkdir -p "$root"

INTEL_OPENCL_RT=2026.2.0   # with the tbb and compiler runtime it was built against
INTEL_TBB=2023.2.0
INTEL_CMPLR_RT=2026.2.0
SID_PACKAGES=(mesa-vulkan-drivers libvulkan1 mesa-opencl-icd)

# The last line of a failed step's log, for the "skipped" reason.
why() { tail -n 1 "$1" 2>/dev/null | cut -c1-200; }

fetch_intel_opencl() {
  local dir=$root/intel-opencl tmp=$root/intel-opencl.tmp log=$root/intel-opencl.log
  if [ ! -f "$dir/expect" ]; then
    rm -rf "$tmp" && mkdir -p "$tmp/wheels" "$tmp/lib" "$tmp/vendors"
    if ! python3 -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: -d "$tmp/wheels" \
        "intel-opencl-rt==$INTEL_OPENCL_RT" "tbb==$INTEL_TBB" "intel-cmplr-lib-rt==$INTEL_CMPLR_RT" >"$log" 2>&1; then
      echo "intel-opencl: skipped: pip download failed: $(why "$log")"; rm -rf "$tmp"; return
    fi
    local w
    for w in "$tmp"/wheels/*.whl; do
      python3 -m zipfile -e "$w" "$tmp/unzip" >>"$log" 2>&1 || { echo "intel-opencl: skipped: cannot unzip $w"; rm -rf "$tmp"; return; }
    done
    # The libraries with the .rtl built-ins and cl.cfg beside them (the runtime looks there),
    # but not the wheel's own libOpenCL: the system's ICD loader reads OCL_ICD_VENDORS.
    cp -a "$tmp"/unzip/*.data/data/lib/. "$tmp/lib/" && rm -f "$tmp"/lib/libOpenCL.so*
    rm -rf "$tmp/wheels" "$tmp/unzip"
    # A wheel holds each library's symbolic links as copies: link them again (795 MB -> 495 MB).
    python3 - "$tmp/lib" <<'PY'
import hashlib, os, sys
first = {}
for name in sorted(os.listdir(sys.argv[1]), key=len):
    path = os.path.join(sys.argv[1], name)
    with open(path, "rb") as f:
        key = (os.path.getsize(path), hashlib.sha256(f.read()).hexdigest())
    if key in first:
        os.remove(path)
        os.symlink(first[key], path)
    else:
        first[key] = name
PY
    [ -f "$tmp/lib/libintelocl.so" ] || { echo "intel-opencl: skipped: the wheel has no lib/libintelocl.so"; rm -rf "$tmp"; return; }
    echo "$dir/lib/libintelocl.so" >"$tmp/vendors/intel-cpu.icd"
    cat >"$tmp/run" <<EOF
#!/bin/sh
# Runs a command with Intel's CPU runtime for OpenCL $INTEL_OPENCL_RT as the only OpenCL platform.
export OCL_ICD_VENDORS="$dir/vendors"
export LD_LIBRARY_PATH="$dir/lib\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
exec "\$@"
EOF
    chmod +x "$tmp/run"
    echo opencl >"$tmp/api" && echo "(Intel(R) OpenCL)" >"$tmp/expect"
    rm -rf "$dir" && mv "$tmp" "$dir"
  fi
  echo "intel-opencl: ready (opencl): OCL_ICD_VENDORS=$dir/vendors LD_LIBRARY_PATH=$dir/lib"
}

# sid's packages and their whole library closure (an empty dpkg status: nothing counts as
# installed), through an apt state of its own so the system's apt is untouched.
fetch_sid() {
  local dir=$root/sid tmp=$root/sid.tmp log=$root/sid.log
  [ -f "$dir/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" ] && return 0
  [ -n "${sid_reason:-}" ] && return 1 # tried already in this run
  rm -rf "$tmp" && mkdir -p "$tmp"/apt/{lists/partial,archives/partial,parts,prefs} "$tmp/debs" "$tmp/root"
  : >"$tmp/apt/status"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian sid main" \
    >"$tmp/apt/sources.list"
  local a=$tmp/apt
  local opts=(-o "Dir::State=$a" -o "Dir::State::Lists=$a/lists" -o "Dir::State::status=$a/status"
    -o "Dir::Cache=$a" -o "Dir::Cache::Archives=$a/archives" -o "Dir::Etc::SourceList=$a/sources.list"
    -o "Dir::Etc::SourceParts=$a/parts" -o "Dir::Etc::PreferencesParts=$a/prefs"
    -o "Dir::Etc::Preferences=$a/prefs/none" -o "APT::Architectures::=amd64" -o "Acquire::Languages=none"
    -o "Debug::NoLocking=1" -o "APT::Sandbox::User=root")
  # apt-get update exits 0 when a list could not be fetched (it warns): look for the list.
  if ! apt-get "${opts[@]}" -qq update >"$log" 2>&1 || ! ls "$a"/lists/*_sid_main_binary-amd64_Packages* >/dev/null 2>&1; then
    sid_reason="apt-get update of Debian sid got no package list: $(grep -m 1 '^[WE]:' "$log" | cut -c1-200)"
    rm -rf "$tmp"; return 1
  fi
  local closure
  closure=$(apt-get "${opts[@]}" -s install --no-install-recommends "${SID_PACKAGES[@]}" 2>>"$log" | awk '/^Inst /{print $2}')
  if [ -z "$closure" ]; then sid_reason="cannot resolve ${SID_PACKAGES[*]} in sid: $(why "$log")"; rm -rf "$tmp"; return 1; fi
  if ! (cd "$tmp/debs" && apt-get "${opts[@]}" -qq download $closure) >>"$log" 2>&1; then
    sid_reason="downloading sid's packages failed: $(why "$log")"; rm -rf "$tmp"; return 1
  fi
  local d
  for d in "$tmp"/debs/*.deb; do
    dpkg -x "$d" "$tmp/root" 2>>"$log" || { sid_reason="dpkg -x $(basename "$d") failed"; rm -rf "$tmp"; return 1; }
  done
  (cd "$tmp/debs" && ls) >"$tmp/root/packages.txt"
  rm -rf "$dir" && mv "$tmp/root" "$dir" && rm -rf "$tmp"
}

# The launcher of a sid driver: the program runs under sid's loader with sid's libraries first
# (the system's after them), so sid's Mesa finds the glibc and LLVM it was built for.
write_sid_run() { # NAME, the comment, the environment lines, [a wrapper command]
  local run=$root/$1/run libs=$root/sid/usr/lib/x86_64-linux-gnu
  mkdir -p "$root/$1"
  cat >"$run.tmp" <<EOF
#!/bin/sh
# $2
$3
exec $4"$libs/ld-linux-x86-64.so.2" --library-path "$libs" "\$@"
EOF
  chmod +x "$run.tmp" && mv "$run.tmp" "$run"
}

fetch_mesa_lavapipe() {
  local dir=$root/mesa-lavapipe
  if ! fetch_sid; then echo "mesa-lavapipe: skipped: $sid_reason"; return; fi
  local lib=$root/sid/usr/lib/x86_64-linux-gnu/libvulkan_lvp.so
  [ -f "$lib" ] || { echo "mesa-lavapipe: skipped: sid's mesa-vulkan-drivers has no libvulkan_lvp.so"; return; }
  mkdir -p "$dir"
  # sid's lvp_icd.json with the library's full path (it names it relative to the system's).
  sed "s|\"library_path\": *\"[^\"]*\"|\"library_path\": \"$lib\"|" \
    "$root/sid/usr/share/vulkan/icd.d/lvp_icd.json" >"$dir/lvp_icd.json"
  # What `mltc devices` shows of it: Mesa's version packed as Vulkan's driverVersion.
  local v
  v=$(sed -n 's/^mesa-vulkan-drivers_\([0-9]*\)\.\([0-9]*\)\.\([0-9]*\).*/\1 \2 \3/p' "$root/sid/packages.txt")
  [ -n "$v" ] || { echo "mesa-lavapipe: skipped: no mesa-vulkan-drivers version in $root/sid/packages.txt"; return; }
  set -- $v
  echo vulkan >"$dir/api" && printf 'driver 0x%x\n' $(($1 << 22 | $2 << 12 | $3)) >"$dir/expect"
  write_sid_run mesa-lavapipe "Runs a command with lavapipe of Mesa from Debian sid as the only Vulkan driver." \
    "export VK_DRIVER_FILES=\"$dir/lvp_icd.json\" VK_ICD_FILENAMES=\"$dir/lvp_icd.json\"" ""
  echo "mesa-lavapipe: ready (vulkan): VK_DRIVER_FILES=$dir/lvp_icd.json, run under $root/sid/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
}

fetch_mesa_rusticl() {
  local dir=$root/mesa-rusticl
  if ! fetch_sid; then echo "mesa-rusticl: skipped: $sid_reason"; return; fi
  local lib=$root/sid/usr/lib/x86_64-linux-gnu/libRusticlOpenCL.so.1
  [ -f "$lib" ] || { echo "mesa-rusticl: skipped: sid's mesa-opencl-icd has no libRusticlOpenCL.so.1"; return; }
  [ -f "$root/sid/usr/lib/clc/spirv64-mesa3d-.spv" ] || { echo "mesa-rusticl: skipped: sid's libclc has no usr/lib/clc/spirv64-mesa3d-.spv"; return; }
  # rusticl has libclc's path (/usr/lib/clc) and clang's headers' (/usr/lib/llvm-N) compiled in.
  # A private mount namespace lays a folder holding only these two of sid's over the system's
  # /usr/lib (a read-only overlay), seen by the command alone.
  local llvm
  llvm=$(cd "$root/sid/usr/lib" && ls -d llvm-* 2>/dev/null | head -n 1)
  [ -n "$llvm" ] || { echo "mesa-rusticl: skipped: sid's unpack has no usr/lib/llvm-N (clang's headers)"; return; }
  mkdir -p "$dir/over" && ln -sfn "$root/sid/usr/lib/clc" "$dir/over/clc" && ln -sfn "$root/sid/usr/lib/$llvm" "$dir/over/$llvm"
  local mnt="mount -t overlay overlay -o lowerdir=$dir/over:/usr/lib /usr/lib" ns="unshare -m"
  [ "$(id -u)" -eq 0 ] || ns="unshare -rm" # not root: a user namespace, where the kernel allows it
  if ! $ns sh -c "$mnt && test -f /usr/lib/clc/spirv64-mesa3d-.spv" 2>"$root/mesa-rusticl.log"; then
    echo "mesa-rusticl: skipped: rusticl reads libclc and clang's headers from /usr/lib only, and no private mount namespace with them could be made here: $(why "$root/mesa-rusticl.log")"
    return
  fi
  mkdir -p "$dir/vendors"
  echo "$lib" >"$dir/vendors/rusticl.icd"
  echo opencl >"$dir/api" && echo "(rusticl)" >"$dir/expect"
  write_sid_run mesa-rusticl "Runs a command with rusticl of Mesa from Debian sid (on llvmpipe) as the only OpenCL platform." \
    "export OCL_ICD_VENDORS=\"$dir/vendors\" RUSTICL_ENABLE=llvmpipe" \
    "$ns sh -c '$mnt && exec \"\$0\" \"\$@\"' "
  echo "mesa-rusticl: ready (opencl): OCL_ICD_VENDORS=$dir/vendors RUSTICL_ENABLE=llvmpipe, run under sid's loader in a mount namespace with sid's /usr/lib/clc and /usr/lib/$llvm"
}

drivers=("$@")
[ ${#drivers[@]} -eq 0 ] && drivers=(intel-opencl mesa-lavapipe mesa-rusticl)
for d in "${drivers[@]}"; do
  if [ "$(uname -m)" != x86_64 ]; then echo "$d: skipped: the drivers fetched are for x86_64, this is $(uname -m)"; continue; fi
  case $d in
    intel-opencl) fetch_intel_opencl ;;
    mesa-lavapipe) fetch_mesa_lavapipe ;;
    mesa-rusticl) fetch_mesa_rusticl ;;
    *) echo "drivers.sh: unknown driver '$d' (intel-opencl, mesa-lavapipe, mesa-rusticl)" >&2; exit 2 ;;
  esac
done
