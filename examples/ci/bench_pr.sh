#!/usr/bin/env bash
# Benchmark a pull request against its base in the same job, interleaved, then gate.
#
#   examples/ci/bench_pr.sh BASE_REF [RUNS] [PYTEST_ARGS...]
#
# Checks BASE_REF out in a git worktree next to the current checkout, then runs the benchmark
# suite RUNS times on each side, alternating base/head (ABAB...), each run a fresh pytest process
# with raw timings (--benchmark-json) and a CPU profile per benchmark (--profkit-profile).
# Finally `profkit bench compare` tests per-run medians (RUNS per side), writes bench/comment.md
# for the PR and GitHub annotations, and exits 1 on a significant regression beyond THRESHOLD.
set -euo pipefail

base_ref=${1:?usage: bench_pr.sh BASE_REF [RUNS] [PYTEST_ARGS...]}
runs=${2:-7}
shift $(( $# >= 2 ? 2 : 1 ))
threshold=${THRESHOLD:-5%}
format=${FORMAT:-github}
out=${OUT:-bench}
pytest_args=("$@")
if [ ${#pytest_args[@]} -eq 0 ]; then
    pytest_args=(benchmarks/ --benchmark-only --benchmark-min-rounds=20)
fi

head_dir=$(pwd)
base_dir=$(mktemp -d)/base
git worktree add --detach "$base_dir" "$base_ref" >/dev/null
trap 'git worktree remove --force "$base_dir" >/dev/null 2>&1 || true' EXIT
rm -rf "$out" && mkdir -p "$out"
out_abs=$(cd "$out" && pwd)

run_side() {  # side index dir
    (cd "$3" && python -m pytest -q -p no:cacheprovider "${pytest_args[@]}" \
        --benchmark-json="$out_abs/$1-$2.json" \
        --profkit-profile "$out_abs/profiles/$1-$2" >/dev/null)
}

for i in $(seq 1 "$runs"); do
    run_side base "$i" "$base_dir"
    run_side head "$i" "$head_dir"
done

status=0
profkit bench compare "$out/base-*.json" "$out/head-*.json" --threshold "$threshold" \
    --profiles --format "$format" --markdown "$out/comment.md" || status=$?
exit $status
