# Sourced by the compile-time benchmarks. `measure_compile RUNS COMMAND...` runs COMMAND RUNS
# times and prints "SECONDS | PEAK_MIB": the median wall time and the largest resident set.
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time: apt-get install time" >&2; exit 1; }
measure_compile() {
    local runs=$1 mem times=() peak=0 start kib median
    shift
    mem=$(mktemp)
    for _ in $(seq "$runs"); do
        start=$(date +%s%N)
        /usr/bin/time -f '%M' -o "$mem" "$@"
        times+=($(( ($(date +%s%N) - start) / 1000000 )))
        kib=$(cat "$mem")
        (( kib > peak )) && peak=$kib
    done
    rm -f "$mem"
    median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p")
    printf '%d.%02d | %d' $((median / 1000)) $(((median % 1000) / 10)) $((peak / 1024))
}
