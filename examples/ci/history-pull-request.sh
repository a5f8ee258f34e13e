# A pull request's run reads the main branch's history for the trend and
# the gates over time, and adds nothing to it.
set -eu
keycompat run --history keycompat-history.jsonl --history-read-only
