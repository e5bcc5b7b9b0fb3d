#!/usr/bin/env bash
# Long fuzz campaigns of the readers (tests/fuzz/, docs/fuzzing.md): builds the libFuzzer
# harnesses with clang, AddressSanitizer and UndefinedBehaviorSanitizer, then runs each in turn for
# a time or a number of executions, keeping its corpus between campaigns. Prints and logs the
# executions of each run; exits 1 on the first finding, whose input lands in BUILD/findings/.
#
#   scripts/fuzz.sh [--time SECONDS | --runs N] [--build DIR] [HARNESS...]
#
# HARNESS is idx, idx_gzip, csv, safetensors or checkpoint (all five by default); the default is
# --time 600 each, in build/fuzz. The log, BUILD/fuzz-log.txt, has one line per run: date,
# harness, executions, seconds, outcome.
set -euo pipefail
cd "$(dirname "$0")/.."
limit=(-max_total_time=600)
build=build/fuzz
harnesses=()
while [ $# -gt 0 ]; do
    case $1 in
        --time) limit=(-max_total_time="$2"); shift 2 ;;
        --runs) limit=(-runs="$2"); shift 2 ;;
        --build) build=$2; shift 2 ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        *) harnesses+=("$1"); shift ;;
    esac
done
[ ${#harnesses[@]} -gt 0 ] || harnesses=(idx idx_gzip csv safetensors checkpoint)

if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S . -B "$build" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Release -DMETAGRAD_BUILD_EXAMPLES=OFF >/dev/null
fi
cmake --build "$build" --target fuzz_seeds $(printf 'fuzz_%s ' "${harnesses[@]}") -j "$(nproc)"
fuzz_dir="$build/tests/fuzz"
if [ ! -x "$fuzz_dir/fuzz_seeds" ]; then
    echo "metagrad: no fuzz harnesses in $build: the compiler must be clang with libFuzzer (libclang-rt-14-dev)" >&2
    exit 2
fi
mkdir -p "$build/findings" "$build/fresh-seeds"
"$fuzz_dir/fuzz_seeds" "$build/fresh-seeds"

status=0
for h in "${harnesses[@]}"; do
    corpus="$build/corpus/$h"
    if [ ! -d "$corpus" ]; then
        mkdir -p "$corpus"
        cp tests/fuzz/corpus/"$h"/* "$corpus"/
    fi
    for seed in "$build/fresh-seeds/$h"/*; do cp "$seed" "$corpus/fresh-$(basename "$seed")"; done
    out="$build/findings/$h.log"
    start=$(date +%s)
    outcome=ok
    "$fuzz_dir/fuzz_$h" "${limit[@]}" -timeout=10 -print_final_stats=1 -artifact_prefix="$build/findings/$h-" \
        "$corpus" >"$out" 2>&1 || outcome="FINDING (see $out)"
    seconds=$(($(date +%s) - start))
    executions=$(grep -oE 'stat::number_of_executed_units: [0-9]+' "$out" | awk '{print $2}' | tail -1)
    line="$(date -u +%Y-%m-%dT%H:%M:%SZ) $h executions=${executions:-?} seconds=$seconds $outcome"
    echo "$line" | tee -a "$build/fuzz-log.txt"
    if [ "$outcome" != ok ]; then status=1; break; fi
done
# Executions per harness over every campaign this log has seen.
awk '{split($3, e, "="); if (e[2] ~ /^[0-9]+$/) total[$2] += e[2]} END {for (h in total) printf "metagrad: %s: %d executions in all\n", h, total[h]}' \
    "$build/fuzz-log.txt"
exit $status
