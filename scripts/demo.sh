#!/usr/bin/env bash
# The main demo: installs what is missing, builds the homework example and runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build/demo -DCMAKE_BUILD_TYPE=Release -DMETAGRAD_BUILD_TESTS=OFF
cmake --build build/demo --target homework3 -j "$(nproc)"
./build/demo/examples/homework3
