#!/usr/bin/env bash
# The run-time benchmarks of issues #4, #13 and #14 in one command: installs what is missing, builds
# benchmarks/run_time.cpp (metagrad, hand-written loops, Eigen and, where found, libtorch, in one
# binary), runs it with repetitions, runs the PyTorch script on the same machine right after, and
# prints the summary table of docs/benchmarks.md. Results stay in build/bench/.
#   bash benchmarks/run.sh [repetitions]      (default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
repetitions=${1:-5}
bash scripts/setup.sh --benchmarks
cmake -S . -B build/bench -DCMAKE_BUILD_TYPE=Release -DMETAGRAD_BUILD_BENCHMARKS=ON -DMETAGRAD_BUILD_TESTS=OFF \
    -DMETAGRAD_BUILD_EXAMPLES=OFF >/dev/null
cmake --build build/bench --target run_time conv_time stream_time -j "$(nproc)"

# Debian's OpenBLAS does not recognise recent Xeons and falls back to SSE3 kernels (it reports
# "Prescott" with OPENBLAS_VERBOSE=2), about 2-3x slower here: name the core type for libtorch
# and PyTorch, from the widest vectors this CPU has.
if grep -qw avx512f /proc/cpuinfo; then
    export OPENBLAS_CORETYPE=SkylakeX
elif grep -qw avx2 /proc/cpuinfo; then
    export OPENBLAS_CORETYPE=Haswell
fi

build/bench/benchmarks/run_time --benchmark_min_time=0.3 --benchmark_repetitions="$repetitions" \
    --benchmark_out=build/bench/run_time.json --benchmark_out_format=json \
    --benchmark_display_aggregates_only=true
/usr/bin/python3 benchmarks/pytorch_mlp.py --repetitions "$repetitions" | tee build/bench/pytorch.txt
/usr/bin/python3 benchmarks/summarize.py build/bench/run_time.json build/bench/pytorch.txt
# Issue 13: the CNN demo's convolutions against libtorch and oneDNN, and one epoch of the demo's CNN
# in PyTorch on 1 and 2 threads (to set beside the demo's own epochs: bash scripts/demo.sh --model cnn).
build/bench/benchmarks/conv_time --benchmark_min_time=0.5 --benchmark_repetitions="$repetitions" \
    --benchmark_display_aggregates_only=true | tee build/bench/conv_time.txt
/usr/bin/python3 benchmarks/pytorch_cnn.py --epochs 1 --threads 1 2 | tee build/bench/pytorch_cnn.txt
# Issue 14 (W6): one sample at a time through GRU, LSTM and a causal convolution stack, against
# the same models written with Eigen's fixed-size matrices (benchmarks/stream_eigen.hpp).
build/bench/benchmarks/stream_time --benchmark_min_time=0.3 --benchmark_repetitions="$repetitions" \
    --benchmark_display_aggregates_only=true | tee build/bench/stream_time.txt
