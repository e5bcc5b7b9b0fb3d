#!/usr/bin/env bash
# The main demo: installs what is missing (Fashion-MNIST included), builds a Fashion-MNIST example
# for this machine's CPU (-march=native, so the kernels use its widest vectors) and trains it.
#   bash scripts/demo.sh [--model mlp|cnn] [options of examples/fashion_demo.hpp]
# --model mlp (the default) is examples/fashion_mnist.cpp, --model cnn examples/fashion_cnn.cpp.
# Learning curves go to build/demo/fashion_mnist.csv and .svg (fashion_cnn.* for the CNN).
set -euo pipefail
cd "$(dirname "$0")/.."
program=fashion_mnist
if [ "${1:-}" = "--model" ]; then
    case "${2:-}" in
        mlp) program=fashion_mnist ;;
        cnn) program=fashion_cnn ;;
        *) echo "demo.sh: --model takes mlp or cnn, not '${2:-}'" >&2; exit 2 ;;
    esac
    shift 2
fi
bash scripts/setup.sh
cmake -S . -B build/demo -DCMAKE_BUILD_TYPE=Release -DMETAGRAD_BUILD_TESTS=OFF -DMETAGRAD_NATIVE=ON >/dev/null
cmake --build build/demo --target "$program" -j "$(nproc)"
./build/demo/examples/$program --log build/demo/$program.csv --plot build/demo/$program.svg "$@"
