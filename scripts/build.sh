#!/usr/bin/env bash
# Compiles src/ to dist/ with tsconfig.build.json (the type check's settings, with the `.ts` import paths
# rewritten to `.js`), so the manager runs on plain Node, without a TypeScript loader; and bundles the web UI
# (ui/) with esbuild into dist/ui/ (app.js, app.css, index.html, each with a gzip twin the manager serves).
#
#   scripts/build.sh               compiles
#   scripts/build.sh --if-changed  compiles only if src/, ui/, the tsconfigs, package.json, this script or the
#                                  TypeScript or esbuild version changed since the last build, or dist/ was altered
#                                  since; otherwise it only hashes them (a fraction of a second)
#
# dist/ is replaced whole (compiled into dist.next/, then renamed), so a deleted source leaves no module
# behind and an interrupted build leaves the last good dist/. Concurrent builds wait for each other.
set -euo pipefail
cd "$(dirname "$0")/.."

if_changed=false
case "${1:-}" in
  --if-changed) if_changed=true ;;
  '') ;;
  *) echo "usage: scripts/build.sh [--if-changed]" >&2; exit 2 ;;
esac

if [ ! -x node_modules/.bin/tsc ]; then
  echo "hearth: node_modules/.bin/tsc is missing: run scripts/setup.sh (or npm ci) first" >&2
  exit 1
fi

# start.sh and test.sh may build at the same time: one at a time, on a lock held on this script.
exec 9<scripts/build.sh
flock 9

# What the output is made from, and what the output is.
inputs_hash() {
  {
    find src ui -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
    sha256sum tsconfig.json tsconfig.build.json package.json scripts/build.sh
    node -p 'require("typescript/package.json").version + " " + require("esbuild/package.json").version'
  } | sha256sum | cut -c1-32
}
output_hash() {
  (cd dist && find . -type f ! -name .build-key -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) | sha256sum | cut -c1-32
}

key=$(inputs_hash)
if $if_changed && [ -f dist/.build-key ] && [ "$(<dist/.build-key)" = "$key $(output_hash)" ]; then
  exit 0
fi

echo "hearth: compiling src/ to dist/" >&2
rm -rf dist.next dist.old
node_modules/.bin/tsc -p tsconfig.build.json --outDir dist.next
chmod +x dist.next/cli/hearth.js
echo "hearth: bundling ui/ to dist/ui/" >&2
node_modules/.bin/esbuild ui/src/main.tsx --bundle --minify --format=esm --target=es2020 --jsx=automatic \
  --jsx-import-source=preact --legal-comments=none --log-level=warning --splitting \
  --outdir=dist.next/ui --entry-names=app --chunk-names=chunk-[hash]
cp ui/index.html ui/favicon.svg dist.next/ui/
gzip -9 -k -n dist.next/ui/*.js dist.next/ui/*.css dist.next/ui/*.html
if [ -d dist ]; then mv dist dist.old; fi
mv dist.next dist
rm -rf dist.old
echo "$key $(output_hash)" >dist/.build-key
