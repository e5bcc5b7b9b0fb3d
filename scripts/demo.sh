#!/usr/bin/env bash
# The main demo: installs what is missing (Fashion-MNIST included), builds the Fashion-MNIST
# example for this machine's CPU (-march=native, so the kernels use its widest vectors) and trains
# it. Learning curves go to build/demo/fashion_mnist.csv and .svg.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build/demo -DCMAKE_BUILD_TYPE=Release -DMETAGRAD_BUILD_TESTS=OFF -DMETAGRAD_NATIVE=ON >/dev/null
cmake --build build/demo --target fashion_mnist -j "$(nproc)"
./build/demo/examples/fashion_mnist --log build/demo/fashion_mnist.csv --plot build/demo/fashion_mnist.svg "$@"
