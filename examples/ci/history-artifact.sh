# The run history as a CI artifact: the CI system unpacks the previous
# run's artifact into previous/ (nothing the first time); the run adds its
# record to a copy in history/, which the CI system uploads as the next
# artifact, also when the run is a NO-GO.
set -eu
mkdir -p history
if [ -f previous/keycompat-history.jsonl ]; then
  cp previous/keycompat-history.jsonl history/
fi
keycompat run --history history/keycompat-history.jsonl
