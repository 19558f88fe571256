#!/usr/bin/env bash
# Re-vendors Chart.js from its npm package (never a CDN): the UMD build and its licence into static/vendor/chartjs.
set -euo pipefail
VERSION=${1:-4.6.1}
cd "$(dirname "$0")/.."
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
(cd "$TMP" && npm pack "chart.js@${VERSION}" >/dev/null && tar xzf chart.js-*.tgz)
cp "$TMP/package/dist/chart.umd.min.js" "$TMP/package/dist/chart.umd.min.js.map" "$TMP/package/LICENSE.md" \
   static/vendor/chartjs/
sha256sum static/vendor/chartjs/chart.umd.min.js
