#!/usr/bin/env bash
# Sets up what is missing (scripts/setup.sh: packages, node modules, guest kernel and initramfs), then
# runs the manager in the foreground on 127.0.0.1:18080 with SQLite in /var/lib/hearth.
# Settings: HEARTH_* variables or a JSON file named by HEARTH_CONFIG (see README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec node --import tsx src/main.ts
