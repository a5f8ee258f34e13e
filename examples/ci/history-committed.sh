# The run history as a committed file: the nightly job on the main branch
# adds its record and pushes it, so the history travels with the code and
# every clone, and every pull request's run, reads it.
set -eu
status=0
keycompat data --history keycompat-history.jsonl || status=$?
# 2 or 3: nothing was proven, and nothing recorded.
[ "$status" -le 1 ]
git add keycompat-history.jsonl
git commit --quiet -m "keycompat history: $(date -u +%F)"
git push --quiet
# The verdict: a NO-GO fails the job, after its record is kept.
exit "$status"
