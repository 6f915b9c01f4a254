#!/usr/bin/env bash
# Sets up what is missing (scripts/setup.sh: packages, node modules, guest kernel and initramfs), compiles
# src/ to dist/ if it changed (scripts/build.sh), then runs the compiled manager (`hearth serve`, plain Node)
# in the foreground on 127.0.0.1:18080 with SQLite in /var/lib/hearth.
# Settings: HEARTH_* variables or a JSON file named by HEARTH_CONFIG (see README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh --if-changed
exec node dist/cli/hearth.js serve
