#!/usr/bin/env bash
# Renders an HTML report to PNG in headless Chromium (Debian's `chromium`), to check that the page
# is self-contained and readable without JavaScript. Installs chromium when missing.
#   usage: scripts/render-html.sh REPORT.html OUT.png [WIDTH] [HEIGHT]
set -euo pipefail
report=$(realpath "$1")
out=$(realpath -m "$2")
width=${3:-1200}
height=${4:-4000}
if ! command -v chromium >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
# No network: the page must render from itself alone (it holds no script; the tests check that).
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" \
    --hide-scrollbars --window-size="${width},${height}" --screenshot="$out" "file://$report" 2>/dev/null
test -s "$out"
echo "$out"
