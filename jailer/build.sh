#!/usr/bin/env bash
# Builds hearth-jailer (src/jailer.c) and hearth-ramseal (src/ramseal.c) and installs them in
# $HEARTH_CACHE_DIR/jailer/ (default /var/cache/hearth), beside the guest artifacts. Each is installed under a
# temporary name and renamed, so a manager starting one meanwhile never runs half a binary. Cheap when
# nothing changed.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=${HEARTH_CACHE_DIR:-/var/cache/hearth}/jailer
make -s -C "$here"
mkdir -p "$out"
for binary in hearth-jailer hearth-ramseal; do
  if ! cmp -s "$here/build/$binary" "$out/$binary"; then
    install -m 0755 "$here/build/$binary" "$out/$binary.$$"
    mv -f "$out/$binary.$$" "$out/$binary"
  fi
done
