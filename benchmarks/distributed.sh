#!/usr/bin/env bash
# Data-parallel training of the Fashion-MNIST MLP demo on this machine (issue 16): one process
# at one and at two threads, two independent processes at once (what the two cores give together
# at that moment), and 1, 2 and 4 MPI ranks of one thread each, run in turn (the order
# rotating from run to run), with the training phase's samples per second, the ratios to one
# process at one thread measured in the same round, and the test accuracy.
#   bash benchmarks/distributed.sh [RUNS=3] [EPOCHS=4]
#   DEMO=build/demo/examples/fashion_mnist  (a build with metagrad::mpi: libopenmpi-dev installed)
# Every rank count runs 64 samples per block; 1 and 2 ranks run 2 blocks per step (a global batch
# of 128: the same weights on both), 4 ranks 4 blocks (oversubscribed: 4 processes on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
epochs=${2:-4}
demo=${DEMO:-build/demo/examples/fashion_mnist}
mpirun=(mpirun --oversubscribe --allow-run-as-root)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# First the sum itself, on 2 ranks (benchmarks/sum_all.cpp).
mpicxx -std=c++20 -O2 -march=native -DOMPI_SKIP_MPICXX -Iinclude benchmarks/sum_all.cpp -o "$out/sum_all"
"${mpirun[@]}" -np 2 "$out/sum_all"
echo

configs=(one_thread two_threads two_alone ranks_1 ranks_2 ranks_4)
run_config() {
    case $1 in
        one_thread) "$demo" --threads 1 --epochs "$epochs" ;;
        two_threads) "$demo" --threads 2 --epochs "$epochs" ;;
        # Two independent runs at once: what the machine's two cores give together right now,
        # the ceiling of any two-rank figure (their rates summed below).
        two_alone) "$demo" --threads 1 --epochs "$epochs" > "$out/alone.txt" & "$demo" --threads 1 --epochs "$epochs"; wait
                   grep '^training:' "$out/alone.txt" ;;
        ranks_1) "${mpirun[@]}" -np 1 "$demo" --epochs "$epochs" --blocks 2 ;;
        ranks_2) "${mpirun[@]}" -np 2 "$demo" --epochs "$epochs" --blocks 2 ;;
        ranks_4) "${mpirun[@]}" -np 4 "$demo" --epochs "$epochs" --blocks 4 ;;
    esac
}
for ((r = 0; r < runs; r++)); do
    for ((k = 0; k < ${#configs[@]}; k++)); do
        c=${configs[$(((k + r) % ${#configs[@]}))]}
        run_config "$c" > "$out/$c.$r.txt" 2>&1
        rate=$(grep '^training:' "$out/$c.$r.txt" | sed 's/;.*//' | grep -o '[0-9]* samples/s' | awk '{ s += $1 } END { print s }')
        accuracy=$(grep -o 'test accuracy [0-9.]*' "$out/$c.$r.txt" | cut -d' ' -f3)
        echo "$r $c $rate $accuracy" >> "$out/all.txt"
    done
done
python3 - "$out/all.txt" "$runs" "$epochs" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
runs, epochs = int(sys.argv[2]), sys.argv[3]
rate = {(int(r), c): float(s) for r, c, s, a in rows}
accuracy = {(int(r), c): a for r, c, s, a in rows}
configs = ["one_thread", "two_threads", "two_alone", "ranks_1", "ranks_2", "ranks_4"]
words = {"one_thread": "1 process, 1 thread (batch 64)", "two_threads": "1 process, 2 threads (batch 64)",
         "two_alone": "2 independent processes at once, 1 thread each (summed: the machine's ceiling)",
         "ranks_1": "1 rank, 2 blocks of 64", "ranks_2": "2 ranks, 1 block of 64 each", "ranks_4": "4 ranks, 1 block of 64 each (4 processes, 2 cores)"}
print(f"| configuration | samples/s, median of {runs} | ratio to 1 thread: median (min, max) | test accuracy after {epochs} epochs |")
print("|---|---|---|---|")
for c in configs:
    ratios = [rate[(r, c)] / rate[(r, "one_thread")] for r in range(runs)]
    print(f"| {words[c]} | {statistics.median(rate[(r, c)] for r in range(runs)):,.0f} | "
          f"{statistics.median(ratios):.2f} ({min(ratios):.2f}, {max(ratios):.2f}) | {', '.join(sorted(set(accuracy[(r, c)] for r in range(runs))))} |")
PY
