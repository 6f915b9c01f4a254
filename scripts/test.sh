#!/usr/bin/env bash
# Every test: set-up (as scripts/setup.sh), the type check, the build (test/build/ runs the compiled
# manager, so it must never find a stale dist/), then all test files with node's test runner.
# VM tests boot real microVMs under TCG; files run two at a time on these 2-core machines.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
npx tsc --noEmit -p .
npx tsc --noEmit -p ui
scripts/build.sh --if-changed
make -s -C guest/init check
mapfile -t files < <(find test -name '*.test.ts' | sort)
exec node --import tsx --test --test-concurrency="${HEARTH_TEST_CONCURRENCY:-2}" "${files[@]}"
