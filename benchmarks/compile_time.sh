#!/usr/bin/env bash
# Compile time and compiler peak memory of the examples, with g++ and clang++, -O0 and -O2:
# the median of N runs (default 5). Usage: bash benchmarks/compile_time.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
source benchmarks/measure_compile.sh
runs=${1:-5}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
printf '| source | compiler | flags | median wall s | peak memory MiB |\n|---|---|---|---|---|\n'
for source in examples/homework3.cpp examples/getting_started.cpp examples/fashion_mnist.cpp examples/fashion_cnn.cpp; do
    for compiler in g++ clang++; do
        for flags in -O0 -O2; do
            printf '| %s | %s | %s | %s |\n' "$source" "$compiler" "$flags" \
                "$(measure_compile "$runs" "$compiler" -std=c++20 $flags -Iinclude "$source" -o "$out/a.out" -lz)"
        done
    done
done
