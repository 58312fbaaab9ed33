#!/usr/bin/env bash
# Proof that the asv suite flags a real regression and stays quiet on a change that is not one.
#
#   bash asv_bench/check_regression_detection.sh [TRIES] [FACTOR]     (defaults: 5 1.15)
#
# In a scratch clone of this repository's committed HEAD (your checkout, its branches and its
# asv results are never touched, nothing is pushed), three commits are made on a scratch branch:
#   slowed    the loop convolution's forward also convolves the first 30% of the batch again
#   reverted  `git revert` of it
#   docs      a line added to README.md, nothing else
# Then, TRIES times each, `asv continuous --factor FACTOR` compares HEAD with "slowed" (must
# report PERFORMANCE DECREASED with the loop convolution forward among the regressions) and
# "reverted" with "docs" (must report BENCHMARKS NOT SIGNIFICANTLY CHANGED). Each comparison
# builds both commits into an asv virtualenv (created on the first run: pip needs the package
# index) and runs the benchmarks BENCH below selects, in 4 interleaved rounds.
# Needs git, and asv + virtualenv in the Python that runs it. About 3 minutes per comparison on
# 2 cores, plus a few minutes to create the virtualenv. Prints the load, each benchmark's ratio
# and a verdict per comparison, and exits 1 if any try went wrong; the full asv output of every
# comparison stays in the scratch folder it names.
set -euo pipefail

TRIES=${1:-5}
FACTOR=${2:-1.15}
# One benchmark keeps a comparison to about 3 minutes on 2 busy cores; add more with more --bench.
BENCH=(--bench "Conv2d.time_forward\('loop', 'N=64 Cin=32 Cout=64 H=14 ")
SLOWED_BENCHMARK="conv2d.Conv2d.time_forward('loop', 'N=64 Cin=32 Cout=64 H=14"

repo=$(cd "$(dirname "$0")/.." && pwd)
scratch=$(mktemp -d "${TMPDIR:-/tmp}/mint-asv-proof.XXXXXX")
echo "scratch folder: $scratch"
git clone --quiet "$repo" "$scratch/mint"
cd "$scratch/mint"
git checkout --quiet -b asv-regression-proof
git config user.name "asv regression proof"
git config user.email "asv-proof@localhost"
base=$(git rev-parse HEAD)

cat >> src/mint/kernels/conv2d.py <<'EOF'


# Deliberately slowed by asv_bench/check_regression_detection.sh (scratch branch): the forward
# convolution also convolves the first 30% of the batch a second time.
_conv2d_forward_at_full_speed = conv2d_forward


def conv2d_forward(x, weight, bias, stride, padding, dilation):
    repeated = x[: max(1, 3 * len(x) // 10)]
    _conv2d_forward_at_full_speed(repeated, weight, bias, stride, padding, dilation)
    return _conv2d_forward_at_full_speed(x, weight, bias, stride, padding, dilation)
EOF
git commit --quiet -am "scratch: loop conv2d forward does 30% more work"
slowed=$(git rev-parse HEAD)
git revert --no-edit HEAD > /dev/null
reverted=$(git rev-parse HEAD)
printf '\nA documentation-only change made by the asv regression proof.\n' >> README.md
git commit --quiet -am "scratch: documentation only"
docs=$(git rev-parse HEAD)

cd asv_bench
python -m asv machine --yes > /dev/null
failures=0

# compare NAME BEFORE AFTER: asv continuous into NAME.log, then asv compare's whole table (the
# unchanged rows too) into NAME.table; prints the load and, per benchmark that ran, the
# change mark (+ slower, - faster, ~ or blank not flagged) and the ratio after/before.
compare() {
    local log="$scratch/$1.log" table="$scratch/$1.table"
    rm -rf results
    echo "  $1, load before: $(uptime | sed 's/.*load average: //')"
    python -m asv continuous --factor "$FACTOR" "${BENCH[@]}" "$2" "$3" > "$log" 2>&1 || true
    python -m asv compare --factor "$FACTOR" "$2" "$3" > "$table" 2>&1
    awk -F'|' '/^\| / && $5 !~ /n\/a|Ratio/ {
        mark = $2; name = $6; gsub(/ /, "", mark); gsub(/^ +| +$/, "", name)
        printf "    %1s %5.2f  %s\n", mark, $5, name }' "$table"
}

for try in $(seq 1 "$TRIES"); do
    echo "try $try"
    compare "slowed-$try" "$base" "$slowed"
    if grep -q "PERFORMANCE DECREASED" "$scratch/slowed-$try.log" \
        && grep -F "$SLOWED_BENCHMARK" "$scratch/slowed-$try.log" | grep -q "^| +"; then
        echo "  slowed commit: flagged (expected)"
    else
        echo "  slowed commit: NOT FLAGGED (wrong)"
        failures=$((failures + 1))
    fi
    compare "docs-$try" "$reverted" "$docs"
    if grep -q "BENCHMARKS NOT SIGNIFICANTLY CHANGED" "$scratch/docs-$try.log"; then
        echo "  documentation commit: quiet (expected)"
    else
        echo "  documentation commit: FLAGGED (wrong)"
        failures=$((failures + 1))
    fi
done

echo "factor $FACTOR, $TRIES tries each, $failures wrong; logs in $scratch"
[ "$failures" -eq 0 ]
