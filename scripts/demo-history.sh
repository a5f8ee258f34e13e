#!/bin/sh
# Writes vectors/acme/history.jsonl, the demo's run history: 13 days of
# `keycompat data` (2026-11-10 .. 2026-11-22), each on 12 % of both exports
# sampled with that day's seed, as a vendor's exports migrate day by day.
# `keycompat run --today 2026-11-23` is then the 14th day of the dual-run.
#
#   cargo build --release && scripts/demo-history.sh [path/to/keycompat]
#
# Run from the repository root. Every record is a real run of the demo's
# plugins; review the diff before committing.
set -eu
bin=${1:-target/release/keycompat}
out=vectors/acme/history.jsonl
reports=$(mktemp -d)
trap 'rm -rf "$reports"' EXIT
rm -f "$out"
for day in 10 11 12 13 14 15 16 17 18 19 20 21 22; do
    # Exit 1 (a red gate) is the day's verdict, recorded like any other.
    "$bin" data --today "2026-11-$day" --seed "$day" --share 0.12 \
        --history "$out" --report-dir "$reports/$day" --quiet || test $? -eq 1
done
echo "wrote $out: $(wc -l < "$out") records"
