#!/usr/bin/env bash
# Builds everything a Hearth microVM boots, into $HEARTH_CACHE_DIR/guest/ (default
# /var/cache/hearth/guest), outside the repo so every checkout and test run shares it:
#
#   vmlinux              guest kernel (guest/kernel/build.sh)
#   bare-initramfs.cpio  /init = guest/bare/bare-init.c: prints HEARTH_BARE_INIT, powers off
#   initramfs.cpio       /init = the agent, guest/init/build/hearth-init (make -C guest/init)
#   manifest.json        path, sha256 of each of the above, kernel release
#
# Each piece is keyed by a hash of its inputs and rebuilt only when they change, so
# running this again is cheap: the manager and the tests may call it on every start.
# Env: HEARTH_CACHE_DIR, HEARTH_BUILD_JOBS (see guest/kernel/build.sh).
set -euo pipefail

guest=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=${HEARTH_CACHE_DIR:-/var/cache/hearth}/guest
self=$guest/build.sh

log() { echo "hearth: $*" >&2; }
die() { echo "hearth: error: $*" >&2; exit 1; }
hash_of() { cat "$@" | sha256sum | cut -c1-16; }
sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

mkdir -p "$out/.keys"
tmp= stage=
trap 'rc=$?; rm -rf "$tmp" "$stage"; ((rc == 0)) || echo "hearth: error: guest build failed" >&2' EXIT
# Concurrent callers (parallel tests) would write the same files; serialise them.
exec 8>"$out/.build.lock"
flock 8

# The kernel script has its own cache key and its own lock.
"$guest/kernel/build.sh"

# Rebuild $1 (an artifact under $out) with the command that follows when the key file
# says it was built from other inputs. Writes go to a temp name and are renamed, so a
# reader never sees half an artifact and an interrupted build leaves no false cache hit.
# Usage: cached NAME KEY DESCRIPTION COMMAND... (COMMAND writes to "$tmp")
cached() {
  local name=$1 key=$2 what=$3
  shift 3
  local keyfile=$out/.keys/$name
  if [[ -f $out/$name && -f $keyfile && $(<"$keyfile") == "$key" ]]; then
    log "$what up to date"
    return 0
  fi
  log "building $what..."
  tmp=$out/.$name.tmp.$$
  rm -f "$tmp"
  # Called plainly, not under `if`: bash turns errexit off inside a condition, and the
  # builders rely on it. The EXIT trap removes the temp file if one fails.
  "$@"
  mv -f "$tmp" "$out/$name"
  echo "$key" >"$keyfile"
}

# A newc initramfs whose /init is $1. Owner 0:0 whoever builds it, fixed mtimes and
# renumbered inodes so equal inputs give byte-equal archives.
make_initramfs() {
  local init=$1
  stage=$(mktemp -d "$out/.stage.XXXXXX")
  mkdir -p "$stage"/{dev,proc,sys,run,mnt,tmp}
  chmod 1777 "$stage/tmp"
  install -m 0755 "$init" "$stage/init"
  # The kernel opens /dev/console for PID 1's stdin/out/err before init runs, from the
  # initramfs itself (devtmpfs is not mounted yet). Without the node PID 1 starts with
  # no fds 0-2 ("Warning: unable to open an initial console"). mknod needs root;
  # both inits cope without it, so a non-root build only warns.
  if ! mknod -m 0600 "$stage/dev/console" c 5 1 2>/dev/null; then
    log "warning: not root, so the initramfs has no /dev/console (PID 1 starts without stdio)"
  fi
  find "$stage" -exec touch -h -d @0 {} +
  (cd "$stage" && find . -mindepth 1 | LC_ALL=C sort |
    cpio --quiet -o -H newc --owner 0:0 --reproducible >"$tmp")
  rm -rf "$stage"
}

# ---- bare init and its initramfs ----
command -v musl-gcc >/dev/null || die "musl-gcc not found (apt-get install musl-tools)"
musl_version=$(dpkg-query -W -f='${Version}' musl-tools 2>/dev/null || echo unknown)
build_bare_init() {
  musl-gcc -static -Os -s -Wall -Wextra -o "$tmp" "$guest/bare/bare-init.c"
}
cached bare-init "$({ hash_of "$guest/bare/bare-init.c" "$self"; echo "$musl_version"; } | hash_of)" \
  "bare init (musl static)" build_bare_init
cached bare-initramfs.cpio "$(hash_of "$out/bare-init" "$self")" \
  "bare-initramfs.cpio" make_initramfs "$out/bare-init"

# ---- agent initramfs ----
# guest/init has its own Makefile and its own notion of up to date; we key the archive
# by the binary it produces.
agent=$guest/init/build/hearth-init
log "building agent (make -C guest/init)..."
make -s -C "$guest/init" >&2 || die "make -C guest/init failed"
[[ -x $agent ]] || die "make -C guest/init did not produce $agent"
cached initramfs.cpio "$(hash_of "$agent" "$self")" "initramfs.cpio (agent)" make_initramfs "$agent"

# ---- manifest ----
json_str() { local s=${1//\\/\\\\}; printf '"%s"' "${s//\"/\\\"}"; }
entry() { printf '{"path": %s, "sha256": "%s"' "$(json_str "$out/$1")" "$(sha256_of "$out/$1")"; }
{
  printf '{\n  "version": 1,\n'
  printf '  "kernel": %s, "release": %s, "config": %s},\n' "$(entry vmlinux)" \
    "$(json_str "$(<"$out/vmlinux.release")")" "$(json_str "$out/vmlinux.config")"
  printf '  "bareInitramfs": %s},\n' "$(entry bare-initramfs.cpio)"
  printf '  "initramfs": %s}\n}\n' "$(entry initramfs.cpio)"
} >"$out/.manifest.json.tmp"
# Leave an unchanged manifest untouched (its mtime then says when the guest last changed).
if cmp -s "$out/.manifest.json.tmp" "$out/manifest.json"; then
  rm -f "$out/.manifest.json.tmp"
else
  mv -f "$out/.manifest.json.tmp" "$out/manifest.json"
  log "wrote $out/manifest.json"
fi
log "guest ready in $out"
