#!/usr/bin/env bash
# The proof that asv flags a 30% slowdown of each op family on that family's benchmarks only and
# stays quiet on a commit that changes nothing, with a busy neighbour: see
# check_regression_detection.py (this wrapper keeps the old arguments) and docs/asv.md.
#
#   bash asv_bench/check_regression_detection.sh [TRIES] [FACTOR] [more options of the script]
set -euo pipefail
exec python "$(dirname "$0")/check_regression_detection.py" --tries "${1:-5}" \
    --factor "${2:-1.1}" "${@:3}"
