#!/usr/bin/env bash
# Threads on a busy machine (issue 12): the main demo's training speed at --threads 1 and
# --threads 2 with 0, 1, 2 and 4 loops of compiler runs beside it (g++ compiling an example over
# and over: short-lived processes, which is what made a spinning pool collapse), runs of the two
# thread counts taken in turn under the same load. Prints one line per run and a table of the
# worst, median and best samples per second of each, and the ratio of the two-thread figure to
# the one-thread one. Results stay in build/busy/.
#   bash benchmarks/busy_machine.sh [runs per thread count and load] [loads ...]   (default 5; 0 1 2 4)
# DEMO=path/to/fashion_mnist measures another build of the demo (an earlier commit's, say);
# SAMPLES=n trains on n samples (default 20000, the issue's figure; the demo's epoch is 60000);
# SECOND=1 runs --threads 1 in the second column too: the spread of two identical programs under
# the same load, against which a ratio is judged.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
shift || true
loads=("$@")
if [ ${#loads[@]} -eq 0 ]; then loads=(0 1 2 4); fi
bash scripts/setup.sh
demo=${DEMO:-build/busy/examples/fashion_mnist}
if [ -z "${DEMO:-}" ]; then
    cmake -S . -B build/busy -DCMAKE_BUILD_TYPE=Release -DMETAGRAD_BUILD_TESTS=OFF -DMETAGRAD_NATIVE=ON >/dev/null
    cmake --build build/busy --target fashion_mnist -j "$(nproc)" >/dev/null
fi
mkdir -p build/busy
results=build/busy/busy_machine${DEMO:+_other}.txt
: >"$results"

# One loop of compiler runs; each compile takes a second or two.
compile_loop() {
    while :; do g++ -std=c++20 -O1 -Iinclude -c examples/getting_started.cpp -o /dev/null; done
}
loop_pids=()
stop_loops() {
    for pid in "${loop_pids[@]}"; do kill -- "-$pid" 2>/dev/null || true; done
    loop_pids=()
}
trap stop_loops EXIT

samples=${SAMPLES:-20000}
second=${SECOND:-2}
one_run() {  # column (1 or 2) load
    local line threads=$1
    [ "$1" -eq 1 ] || threads=$second
    line=$("$demo" --epochs 1 --train-samples "$samples" --validation-samples 1000 --test-samples 1000 --threads "$threads" |
        grep -oE 'training: [0-9.]+ s per epoch, [0-9]+ samples/s')
    local speed=${line##*epoch, }
    speed=${speed% samples/s}
    echo "load $2 column $1 --threads=$threads $speed" | tee -a "$results"
}

for load in "${loads[@]}"; do
    for ((i = 0; i < load; i++)); do
        set -m
        compile_loop >/dev/null 2>&1 &
        loop_pids+=($!)
        set +m
    done
    [ "$load" -eq 0 ] || sleep 3
    for ((r = 0; r < runs; r++)); do
        # In turn, alternating which goes first, so that the load's drift falls on both.
        if ((r % 2 == 0)); then one_run 1 "$load"; one_run 2 "$load"; else one_run 2 "$load"; one_run 1 "$load"; fi
    done
    stop_loops
done

python3 - "$results" "$samples" "$second" <<'EOF'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    _, load, _, threads, _, speed = line.split()
    rows.setdefault(int(load), {}).setdefault(int(threads), []).append(float(speed))
print(f"\nsamples/s of the demo's training (--epochs 1 --train-samples {sys.argv[2]}; second column: --threads {sys.argv[3]})")
second = f"{sys.argv[3]} thread" + ("s" if sys.argv[3] != "1" else "")
print(f"{'loops':>5} | {'1 thread: worst / median / best':>32} | {second + ': worst / median / best':>33} | worst 2/1 | median 2/1")
for load in sorted(rows):
    one, two = rows[load][1], rows[load][2]
    f = lambda v: f"{min(v):8.0f} / {statistics.median(v):8.0f} / {max(v):8.0f}"
    print(f"{load:>5} | {f(one):>32} | {f(two):>33} | {min(two) / min(one):9.2f} | {statistics.median(two) / statistics.median(one):10.2f}")
EOF
