#!/usr/bin/env bash
# Renders a page written by `analytics html` in headless Chromium, fails on console errors, and
# prints the screenshot's path.
#
#   cli/check_html.sh [--install] [PAGE.html] [OUT.png]
#
# PAGE defaults to target/analytics-check/report.html, made from a fresh report of the
# coordinator example. Without /usr/bin/chromium the script says how to install it and exits 0;
# with --install it runs `apt-get install -y chromium` itself (as root).
set -euo pipefail
cd "$(dirname "$0")/.."

install=0
if [[ "${1:-}" == "--install" ]]; then
  install=1
  shift
fi

chromium=/usr/bin/chromium
if [[ ! -x "$chromium" ]]; then
  if [[ "$install" == 1 ]]; then
    apt-get update
    apt-get install -y chromium
  else
    echo "check_html: $chromium not found; skipping the browser check."
    echo "  install it with: apt-get update && apt-get install -y chromium"
    echo "  (or run: $0 --install)"
    exit 0
  fi
fi

out_dir=target/analytics-check
mkdir -p "$out_dir"
page=${1:-}
if [[ -z "$page" ]]; then
  page=$out_dir/report.html
  cargo run --quiet --release --example coordinator -- --runs 60 \
    --report-json "$out_dir/report.json" >"$out_dir/coordinator.log" 2>&1 \
    || { cat "$out_dir/coordinator.log" >&2; exit 1; }
  cargo run --quiet --release --bin analytics -- html "$out_dir/report.json" -o "$page"
fi
png=${2:-$out_dir/report.png}
page=$(realpath "$page")
png=$(realpath -m "$png")
log=$out_dir/chromium.log

profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
status=0
timeout 120 "$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$profile" --enable-logging=stderr --v=0 \
  --screenshot="$png" --window-size=1280,2000 "file://$page" 2>"$log" || status=$?
if [[ "$status" != 0 ]]; then
  echo "check_html: chromium exited with $status; its log:" >&2
  cat "$log" >&2
  exit 1
fi
# Console messages are logged as `CONSOLE(line)] "message", source: ...` (Chromium >= 120:
# `INFO:CONSOLE:line] ...`). Recent builds log every console message at INFO, without its level,
# so console.error cannot be told from console.log here; the page runs no script, so any console
# message (an error, an uncaught exception, a blocked load) fails the check.
if grep -qE 'CONSOLE[(:]' "$log"; then
  echo "check_html: console messages from $page:" >&2
  grep -E 'CONSOLE[(:]' "$log" >&2
  exit 1
fi
if grep -qE 'ERR_FILE_NOT_FOUND|net::ERR_' "$log"; then
  echo "check_html: a resource failed to load in $page:" >&2
  grep -E 'net::ERR_' "$log" >&2
  exit 1
fi
if [[ ! -s "$png" ]]; then
  echo "check_html: no screenshot was written; chromium's log:" >&2
  cat "$log" >&2
  exit 1
fi
echo "$png"
