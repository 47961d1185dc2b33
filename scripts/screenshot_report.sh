#!/usr/bin/env bash
# Screenshot an lvsbench HTML report with headless Chromium (Debian's `chromium` package), to check that it renders;
# with --dump-dom, print the DOM Chromium built instead (tests check the section order on it).
#
#   scripts/screenshot_report.sh REPORT.html OUT.png [WIDTH] [HEIGHT]
#   scripts/screenshot_report.sh --dump-dom REPORT.html
#
# Install the browser once with: apt-get update && apt-get install -y chromium
# The page is loaded from a file:// URL with networking disabled, which also proves the report is self-contained.
set -euo pipefail
dump=0
if [ "${1:-}" = "--dump-dom" ]; then dump=1; shift; fi
if [ $# -lt $((2 - dump)) ]; then
  echo "usage: $0 REPORT.html OUT.png [WIDTH=1400] [HEIGHT=4000] | $0 --dump-dom REPORT.html" >&2
  exit 2
fi
report=$(realpath "$1")
browser=""
for b in chromium chromium-browser google-chrome; do
  if command -v "$b" >/dev/null 2>&1; then browser=$b; break; fi
done
if [ -z "$browser" ]; then
  echo "error: no chromium found; install it with: apt-get update && apt-get install -y chromium" >&2
  exit 2
fi
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking
  --disable-component-update --disable-sync --disable-extensions --hide-scrollbars --user-data-dir="$profile")
if [ "$dump" = 1 ]; then
  "$browser" "${flags[@]}" --dump-dom "file://$report" 2>/dev/null
  exit 0
fi
out=$(realpath -m "$2")
width=${3:-1400}
height=${4:-4000}
"$browser" "${flags[@]}" --window-size="${width},${height}" --screenshot="$out" "file://$report" >/dev/null 2>&1
test -s "$out"
echo "$out"
