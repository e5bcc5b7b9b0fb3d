#!/usr/bin/env bash
# Issue 13's compile-time bar for a deep network: a ResNet-18-shaped type (32x32x3 input, a 3x3
# stem, 8 residual basic blocks with batch norm, 64 to 512 channels, 11.17 M parameters) with a
# training step (Adam, softmax cross-entropy, batch 32), compiled at g++ -O2, then linked and run
# for one step so that what compiles is known to work. Median of N runs (default 3) and peak
# memory. Usage: bash benchmarks/compile_resnet.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
source benchmarks/measure_compile.sh
runs=${1:-3}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
printf '| source | compiler | flags | median wall s | peak memory MiB |\n|---|---|---|---|---|\n'
for compiler in g++ clang++; do
    printf '| benchmarks/resnet18.cpp | %s | -O2 | %s |\n' "$compiler" \
        "$(measure_compile "$runs" "$compiler" -std=c++20 -O2 -DNDEBUG -Iinclude -c benchmarks/resnet18.cpp -o "$out/resnet18.o")"
done
g++ "$out/resnet18.o" -o "$out/resnet18" -lz -pthread
"$out/resnet18"
