#!/usr/bin/env bash
# The main job in one command (`make demo`, which first creates .venv as `make test` does):
#
#   1. check the environment (.venv with benchwatch and asv);
#   2. run the ci-fast suite with asv over the last commits (DEMO_RANGE, default HEAD~2..HEAD:
#      HEAD~1 and HEAD), each built in asv's own environment under .asv/env;
#   3. gate HEAD~1 -> HEAD on those results and print the verdict;
#   4. find bottlenecks in HEAD's results (benchwatch recommend) and build the history site
#      (benchwatch site build) with the gate report and the recommendations;
#   5. print where to open it.
#
# A failed gate or SLA is reported and the demo goes on: it shows what the tools say. It
# stops with exit 2 only when a step cannot run at all. It takes minutes; asv's progress is
# streamed as it runs. Variables: DEMO_RANGE, DEMO_ENV (suite environment, default local),
# DEMO_SUITE (default ci-fast), DEMO_OUT (site directory, default build/site).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"

bin="$root/.venv/bin"
range="${DEMO_RANGE:-HEAD~2..HEAD}"
env="${DEMO_ENV:-local}"
suite="${DEMO_SUITE:-ci-fast}"
out="${DEMO_OUT:-build/site}"
results=".asv/results/${suite}-${env}"
t0=$(date +%s)

step() {
  printf '\n==> [%s/5] %s  (%ss elapsed)\n' "$1" "$2" "$(( $(date +%s) - t0 ))" >&2
}
die() {
  printf 'demo: %s\n' "$1" >&2
  exit 2
}

# ---- 1. environment
step 1 "environment: $bin"
[[ -x "$bin/benchwatch" && -x "$bin/asv" ]] \
  || die "no benchwatch or asv in .venv; run 'make demo' (it creates .venv) or 'make install'"
git rev-parse --verify --quiet HEAD~1 >/dev/null \
  || die "the repository needs at least two commits (HEAD~1 and HEAD) to gate"
"$bin/benchwatch" --version >&2
"$bin/asv" --version >&2

# ---- 2. benchmarks
step 2 "benchmarks: benchwatch run $suite --env $env $range (asv builds each commit; minutes)"
set +e
"$bin/benchwatch" run "$suite" --env "$env" "$range"
run_code=$?
set -e
case $run_code in
  0) echo "SLA checks of HEAD: pass" >&2 ;;
  1) echo "SLA checks of HEAD: fail (see the table above); the demo goes on" >&2 ;;
  *) die "benchwatch run exited $run_code: asv could not build or run the suite (see above)" ;;
esac

# ---- 3. gate
base=$(git rev-parse HEAD~1)
head=$(git rev-parse HEAD)
report="build/demo/gate.json"
step 3 "gate: benchwatch gate ${base:0:12} ${head:0:12} --suite $suite --env $env"
set +e
"$bin/benchwatch" gate "$base" "$head" --results-dir "$results" --repo . \
  --suite "$suite" --env "$env" --format text
gate_code=$?
set -e
case $gate_code in
  0) verdict="pass" ;;
  1) verdict="fail" ;;
  *) die "benchwatch gate exited $gate_code (see above)" ;;
esac
printf '\nverdict: %s (HEAD~1 %s -> HEAD %s)\n' "$verdict" "${base:0:12}" "${head:0:12}"
# the same verdict as JSON, for the site's Comparisons page
mkdir -p "$(dirname "$report")"
"$bin/benchwatch" gate "$base" "$head" --results-dir "$results" --repo . \
  --suite "$suite" --env "$env" --format json --output "$report" || [[ $? -eq 1 ]]

# ---- 4. recommendations and the site
step 4 "site: benchwatch recommend, then benchwatch site build --results-dir $results --out $out"
recommend="build/demo/recommend.json"
experiment=()
# --no-diagnostics: in a fresh clone numba's diagnostics first compile every engine kernel
# (241 s in one loaded run); `benchwatch recommend` without it adds them
if "$bin/benchwatch" recommend --results-dir "$results" --suite "$suite" --env "$env" \
     --no-diagnostics --format json --output "$recommend"; then
  "$bin/python" -c 'import json, sys; n = len(json.load(open(sys.argv[1]))["recommendations"]); print(f"recommend: {n} finding" + ("s" if n != 1 else "") + f" in {sys.argv[1]}; the Experiments page lists them")' "$recommend"
  experiment=(--experiment "$recommend")
else
  echo "recommend failed (see above); the site is built without it" >&2
fi
site_built=0
if "$bin/benchwatch" site build --help >/dev/null 2>&1; then
  "$bin/benchwatch" site build --results-dir "$results" --repo . --suite "$suite" \
    --report "$report" "${experiment[@]}" --out "$out" \
    || die "benchwatch site build failed (see above)"
  site_built=1
else
  echo "skipped: this version of benchwatch has no 'site build' command yet" >&2
fi

# ---- 5. where to look
step 5 "done in $(( $(date +%s) - t0 ))s"
echo "results:  $root/$results"
if [[ $site_built -eq 1 ]]; then
  echo "site:     file://$root/$out/index.html"
  echo "serve it: $bin/benchwatch site serve --results-dir $results --repo . --suite $suite --report $report ${experiment[*]}"
  echo "          (then open http://127.0.0.1:8000/)"
fi
