#!/usr/bin/env bash
# Renders a keycompat HTML report in headless Chromium and saves a PNG, to
# look at the report the way a release manager sees it (laptop width).
#
#   scripts/screenshot-report.sh REPORT_HTML OUT_PNG [WIDTH [HEIGHT]]
#
# Needs Debian's chromium (apt-get install chromium). The page loads nothing
# from the network; the flags keep Chromium itself off it too.
set -euo pipefail

if [ "$#" -lt 2 ]; then
  echo "usage: $0 REPORT_HTML OUT_PNG [WIDTH [HEIGHT]]" >&2
  exit 2
fi
html=$1
out=$2
width=${3:-1366}
height=${4:-2400}

browser=""
for candidate in chromium chromium-browser google-chrome; do
  if command -v "$candidate" >/dev/null 2>&1; then
    browser=$candidate
    break
  fi
done
if [ -z "$browser" ]; then
  echo "error: no chromium found; hint: apt-get install chromium" >&2
  exit 3
fi
if [ ! -f "$html" ]; then
  echo "error: $html: no such file" >&2
  exit 2
fi

abs_html=$(cd "$(dirname "$html")" && pwd)/$(basename "$html")
mkdir -p "$(dirname "$out")"
abs_out=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT

"$browser" --headless --no-sandbox --disable-gpu \
  --disable-background-networking --disable-component-update --no-first-run \
  --disable-sync --hide-scrollbars --user-data-dir="$profile" \
  --screenshot="$abs_out" --window-size="$width,$height" \
  "file://$abs_html" >/dev/null 2>&1

if [ ! -s "$abs_out" ]; then
  echo "error: chromium wrote no screenshot to $abs_out" >&2
  exit 1
fi
echo "$abs_out"
