#!/usr/bin/env bash
# Builds the Hearth guest kernel: an uncompressed PVH `vmlinux` that QEMU (-kernel) and
# Firecracker boot directly, from Debian's linux-source-6.1 package with the patches in
# patches/ beside this script applied, tinyconfig plus hearth.config beside it.
#
# Output (outside the repo, shared by every checkout on the machine):
#   $HEARTH_CACHE_DIR/guest/vmlinux          the kernel
#   $HEARTH_CACHE_DIR/guest/vmlinux.release  its `uname -r`
#   $HEARTH_CACHE_DIR/guest/vmlinux.key      hash of the inputs it was built from
# An unchanged rebuild only recomputes the key (a few ms). Env:
#   HEARTH_CACHE_DIR     default /var/cache/hearth
#   HEARTH_BUILD_JOBS    make -j, default nproc
#   HEARTH_LINUX_SOURCE  default /usr/src/linux-source-6.1.tar.xz
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=${HEARTH_CACHE_DIR:-/var/cache/hearth}/guest
src_tar=${HEARTH_LINUX_SOURCE:-/usr/src/linux-source-6.1.tar.xz}
src_pkg=linux-source-6.1
jobs=${HEARTH_BUILD_JOBS:-$(nproc)}
fragment=$here/hearth.config
shopt -s nullglob
patches=("$here"/patches/*.patch)
shopt -u nullglob

log() { echo "hearth: $*" >&2; }
die() { echo "hearth: error: $*" >&2; exit 1; }

[[ -r $src_tar ]] || die "$src_tar not found (apt-get install $src_pkg flex bison libelf-dev bc)"

# The package version names the source exactly; fall back to size+mtime for a tarball
# that did not come from dpkg (HEARTH_LINUX_SOURCE pointing elsewhere).
src_version=$(dpkg-query -W -f='${Version}' "$src_pkg" 2>/dev/null || true)
[[ -n $src_version && $src_tar == /usr/src/$src_pkg.tar.xz ]] || src_version=$(stat -c 'file-%s-%Y' "$src_tar")

# The extracted tree is the source with the patches applied: new patches mean a new tree.
src_tree="$src_version patches=$(cat /dev/null "${patches[@]}" | sha256sum | cut -c1-16)"

# The compiler is an input too: a toolchain upgrade must not reuse objects built by the old one.
cc_version=$(gcc -dumpfullversion 2>/dev/null || echo none)
key=$({ cat "$fragment" "${BASH_SOURCE[0]}" "${patches[@]}"; echo "src=$src_version cc=$cc_version"; } | sha256sum | cut -c1-16)

up_to_date() { [[ -f $out/vmlinux && -f $out/vmlinux.key && $(<"$out/vmlinux.key") == "$key" ]]; }

if up_to_date; then
  log "guest kernel up to date ($(<"$out/vmlinux.release"), key $key)"
  exit 0
fi

mkdir -p "$out"
# Two builds at once (tests, setup) would trample one build tree; the second waits and
# then finds the kernel built.
exec 9>"$out/.kernel.lock"
flock 9
if up_to_date; then
  log "guest kernel up to date ($(<"$out/vmlinux.release"), key $key)"
  exit 0
fi

for tool in make gcc flex bison bc patch; do
  command -v "$tool" >/dev/null || die "$tool not found (apt-get install build-essential flex bison libelf-dev bc)"
done

srcdir=$out/src/$src_pkg
build=$out/build/kernel
buildlog=$out/build/kernel.log
started=$SECONDS

# Extract once per source version. tar keeps the archive's mtimes, so objects of an
# older source could look newer than the new files: the build tree goes with it.
if [[ ! -f $srcdir/.hearth-src-version || $(<"$srcdir/.hearth-src-version") != "$src_tree" ]]; then
  log "extracting $src_tar (source $src_tree)..."
  rm -rf "$out/src" "$out/src.tmp" "$build"
  mkdir -p "$out/src.tmp"
  tar -xJf "$src_tar" -C "$out/src.tmp"
  [[ -d $out/src.tmp/$src_pkg ]] || die "$src_tar does not contain $src_pkg/"
  for p in "${patches[@]}"; do
    patch -s -p1 -d "$out/src.tmp/$src_pkg" <"$p" || die "patch $p does not apply to $src_pkg $src_version"
  done
  echo "$src_tree" >"$out/src.tmp/$src_pkg/.hearth-src-version"
  mv "$out/src.tmp" "$out/src"
fi

mkdir -p "$build"
log "building guest kernel (about 5 minutes from scratch with $jobs jobs; log: $buildlog)..."

# ARCH=x86_64, not the default ARCH=x86: with ARCH=x86 `64BIT` has a prompt and
# tinyconfig (allnoconfig underneath) would answer it "no", giving an i386 kernel.
# Fixed build user/host/time/number so the same inputs give the same `uname -v` (the
# build number would otherwise count rebuilds in this tree).
kmake() {
  make -C "$srcdir" O="$build" ARCH=x86_64 KBUILD_BUILD_VERSION=1 \
    KBUILD_BUILD_USER=hearth KBUILD_BUILD_HOST=hearth KBUILD_BUILD_TIMESTAMP="$src_version" "$@"
}

if ! {
  kmake tinyconfig &&
    # -m: merge only; olddefconfig then resolves the dependencies in one pass.
    (cd "$srcdir" && ARCH=x86_64 scripts/kconfig/merge_config.sh -m -O "$build" "$build/.config" "$fragment") &&
    kmake olddefconfig
} >"$buildlog" 2>&1; then
  tail -n 30 "$buildlog" >&2
  die "kernel configuration failed (full log: $buildlog)"
fi

# Kconfig drops an option whose dependencies are off without failing, so check that
# every line of the fragment survived exactly as written.
missing=()
while IFS= read -r line; do
  case $line in
    CONFIG_*=*)
      if ! grep -qxF -- "$line" "$build/.config"; then
        opt=${line%%=*}
        got=$(grep -E "^$opt=|^# $opt is not set" "$build/.config" || echo "absent (dependencies off?)")
        missing+=("$line  -> $got")
      fi
      ;;
    "# CONFIG_"*" is not set")
      opt=${line#\# }
      opt=${opt%% *}
      if got=$(grep -E "^$opt=" "$build/.config"); then missing+=("$line  -> $got"); fi
      ;;
  esac
done <"$fragment"
if ((${#missing[@]})); then
  printf 'hearth:   %s\n' "${missing[@]}" >&2
  die "the kernel .config does not match $fragment in ${#missing[@]} option(s) (add the missing dependencies to the fragment)"
fi

if ! kmake -j"$jobs" vmlinux >>"$buildlog" 2>&1; then
  tail -n 40 "$buildlog" >&2
  die "kernel build failed (full log: $buildlog)"
fi

# QEMU and Firecracker find the 32-bit PVH entry point through this ELF note; without
# it QEMU refuses the ELF ("Error loading uncompressed kernel without PVH ELF Note").
if command -v readelf >/dev/null && ! readelf -n "$build/vmlinux" | grep -q 'Xen'; then
  die "built vmlinux has no PVH (Xen) ELF note"
fi

release=$(kmake -s kernelrelease)
# Install atomically: a VM starting meanwhile sees the old kernel or the new one, whole.
cp "$build/vmlinux" "$out/vmlinux.tmp.$$"
cp "$build/.config" "$out/vmlinux.config"
mv -f "$out/vmlinux.tmp.$$" "$out/vmlinux"
echo "$release" >"$out/vmlinux.release"
echo "$key" >"$out/vmlinux.key"
log "guest kernel $release built in $((SECONDS - started)) s: $out/vmlinux ($(du -h "$out/vmlinux" | cut -f1))"
