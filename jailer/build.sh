#!/usr/bin/env bash
# Builds hearth-jailer (src/jailer.c) and installs it as $HEARTH_CACHE_DIR/jailer/hearth-jailer (default
# /var/cache/hearth), beside the guest artifacts. Installed under a temporary name and renamed, so a manager
# starting a VM meanwhile never runs half a binary. Cheap when nothing changed.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=${HEARTH_CACHE_DIR:-/var/cache/hearth}/jailer
make -s -C "$here"
mkdir -p "$out"
if ! cmp -s "$here/build/hearth-jailer" "$out/hearth-jailer"; then
  install -m 0755 "$here/build/hearth-jailer" "$out/hearth-jailer.$$"
  mv -f "$out/hearth-jailer.$$" "$out/hearth-jailer"
fi
