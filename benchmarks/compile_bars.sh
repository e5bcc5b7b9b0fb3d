#!/usr/bin/env bash
# Issue 15's compile-time bars: user CPU seconds of g++ 12 -O2 (median of N runs, default 3) for
# including metagrad/metagrad.hpp alone (bar 1.0 s), examples/tabular.cpp (2.5 s) and
# examples/getting_started.cpp (1.5 s). Usage: bash benchmarks/compile_bars.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time: apt-get install time" >&2; exit 1; }
runs=${1:-3}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
printf '#include <metagrad/metagrad.hpp>\nint main() {}\n' > "$out/header_alone.cpp"
printf '| source | bar s | user CPU s, median of %s | runs |\n|---|---|---|---|\n' "$runs"
for case in "$out/header_alone.cpp 1.0" "examples/tabular.cpp 2.5" "examples/getting_started.cpp 1.5"; do
    set -- $case
    times=()
    for _ in $(seq "$runs"); do
        /usr/bin/time -f '%U' -o "$out/time" g++ -std=c++20 -O2 -Iinclude -c "$1" -o "$out/a.o"
        times+=("$(cat "$out/time")")
    done
    median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p")
    name=$1
    [ "$name" = "$out/header_alone.cpp" ] && name="#include <metagrad/metagrad.hpp>"
    printf '| %s | %s | %s | %s |\n' "$name" "$2" "$median" "${times[*]}"
done
