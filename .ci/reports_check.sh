#!/usr/bin/env bash
# The committed reports prove themselves (kerasexp/audit/check.py): every run's metrics.json
# recomputed from its predictions, every seed/compare/study summary rebuilt from its runs, and two
# runs (drawn by seed 0 among those with at most 2,000 training images, so it stays about a minute)
# retrained for their first epoch, which must equal history.csv's first row where the machine and
# libraries match the record's. Exit 1 names each folder or file that does not.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m kerasexp reports check --replay 2 --replay-seed 0 --replay-max-images 2000 "$@"
