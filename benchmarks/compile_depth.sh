#!/usr/bin/env bash
# Compile time and compiler peak memory of an MLP as its depth grows (1, 8, 32, 64 layers:
# dense and relu alternating) at two widths, with g++ and clang++ at -O0: a network type, a
# training step and a forward pass instantiated for it. Median of N runs (default 3).
# Usage: bash benchmarks/compile_depth.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
source benchmarks/measure_compile.sh
runs=${1:-3}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

source_for() {  # depth width
    local depth=$1 width=$2 layers="" i
    for ((i = 0; i < depth; ++i)); do
        if ((i % 2 == 0)); then layers+=", mg::dense<$width>"; else layers+=", mg::relu"; fi
    done
    cat <<SOURCE
#include "metagrad/constexpr.hpp"
namespace mg = metagrad;
using net = mg::sequential<mg::input<$width>$layers>;
int main() {
    static net::parameters<float> p;
    mg::tensor<float, mg::shape<4, $width>> x{};
    mg::tensor<float, mg::batch_of<4, net::output_shape>> y{};
    mg::sgd<float> sgd{0.01f};
    return mg::train_step(p, x, y, mg::mse{}, sgd) > 1 ? 1 : 0;
}
SOURCE
}

printf '| layers | width | compiler | median s | peak MiB |\n|---|---|---|---|---|\n'
for width in 8 64; do
    for depth in 1 8 32 64; do
        source_for "$depth" "$width" > "$out/net.cpp"
        for compiler in g++ clang++; do
            printf '| %d | %d | %s | %s |\n' "$depth" "$width" "$compiler" \
                "$(measure_compile "$runs" "$compiler" -std=c++20 -O0 -Iinclude -c "$out/net.cpp" -o "$out/net.o")"
        done
    done
done
