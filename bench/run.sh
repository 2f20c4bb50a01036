#!/usr/bin/env bash
# `make bench`: every benchmark, each printing `bench NAME: key=value …` lines with ratios
# against a baseline measured in the same run. Runs them all, then fails if any failed.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
status=0
run() { echo "# $*"; "$@" || status=1; }
for script in bench/bench_state.py bench/bench_copy.py bench/bench_poll.py bench/bench_cls_split.py bench/bench_secrets.py bench/bench_unpack.py bench/bench_watch.py bench/bench_parquet.py bench/bench_protect.py; do
  [ -f "$script" ] && run "$PY" "$script"
done
run "$PY" bench/bench_coldstart.py --target lambda
run "$PY" bench/bench_coldstart.py --target scf
exit $status
