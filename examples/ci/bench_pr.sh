#!/usr/bin/env bash
# Benchmark a pull request against its base in the same job, interleaved, then gate.
#
#   examples/ci/bench_pr.sh BASE_REF [RUNS] [PYTEST_ARGS...]
#
# Checks BASE_REF out in a git worktree next to the current checkout, then runs the benchmark
# suite RUNS times on each side, alternating base/head (ABAB...), each run a fresh pytest process
# with raw timings (--benchmark-json) and a CPU profile per benchmark (--profkit-profile, one
# directory per run: runs sharing a directory would overwrite each other's profiles).
# Finally `profkit bench compare` tests per-run medians (RUNS per side), writes bench/comment.md
# for the PR and GitHub annotations.
#
# Exit codes (those of `profkit bench compare`): 0 no significant regression beyond THRESHOLD,
# 1 a regression, 2 anything else: bad arguments, BASE_REF not found, or a pytest run that did not
# pass (failing benchmark test, missing path, no tests). pytest's output is kept in bench/logs/
# and printed when a run fails, so a broken benchmark is never mistaken for a regression.
set -uo pipefail

die() { echo "bench_pr.sh: $*" >&2; exit 2; }

[ $# -ge 1 ] || die "usage: bench_pr.sh BASE_REF [RUNS] [PYTEST_ARGS...]"
base_ref=$1
runs=${2:-7}
shift $(( $# >= 2 ? 2 : 1 ))
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer, got '$runs'"
threshold=${THRESHOLD:-5%}
format=${FORMAT:-github}
out=${OUT:-bench}
pytest_args=("$@")
if [ ${#pytest_args[@]} -eq 0 ]; then
    pytest_args=(benchmarks/ --benchmark-only --benchmark-min-rounds=20)
fi

head_dir=$(pwd)
base_dir=$(mktemp -d)/base
git worktree add --detach "$base_dir" "$base_ref" >/dev/null 2>&1 \
    || die "cannot check out '$base_ref' in a worktree (is it fetched? fetch-depth: 0)"
trap 'git worktree remove --force "$base_dir" >/dev/null 2>&1 || true' EXIT
rm -rf "$out" && mkdir -p "$out/logs" || die "cannot create $out/"
out_abs=$(cd "$out" && pwd)

run_side() {  # side index dir
    local log="$out_abs/logs/$1-$2.log" status=0
    (cd "$3" && python -m pytest -q -p no:cacheprovider "${pytest_args[@]}" \
        --benchmark-json="$out_abs/$1-$2.json" \
        --profkit-profile "$out_abs/profiles/$1-$2") >"$log" 2>&1 || status=$?
    if [ "$status" -ne 0 ]; then
        echo "bench_pr.sh: pytest on $1 (run $2, in $3) exited $status; its output:" >&2
        tail -n 60 "$log" >&2
        die "benchmark run failed (pytest exit $status): not a regression verdict; log in $log"
    fi
}

for i in $(seq 1 "$runs"); do
    run_side base "$i" "$base_dir"
    run_side head "$i" "$head_dir"
done

status=0
profkit bench compare "$out/base-*.json" "$out/head-*.json" --threshold "$threshold" \
    --profiles --format "$format" --markdown "$out/comment.md" || status=$?
exit $status
