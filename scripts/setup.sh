#!/usr/bin/env bash
# Installs what metagrad needs on Debian 12, only what is missing: the compiler, CMake, Boost
# headers and zlib for the library, and Fashion-MNIST for the main demo; with --tests also
# Boost.Test and clang (the suite builds with both compilers; libclang-rt-14-dev, which clang only
# recommends, holds libFuzzer for the readers' fuzz harnesses), python3-sklearn (whose bundled
# CSV files the tabular example reads), and python3-numpy and python3-torch for the safetensors
# module's tests (python/, tests/python: the docs' PyTorch round trip runs in the suite; torch
# brings about 140 MB to download, 600 MB installed), python3-onnx for the ONNX export's tests
# (python/metagrad_onnx.py: every exported model is checked with onnx.checker), OpenMPI
# (libopenmpi-dev, openmpi-bin) for the data-parallel tests on 1, 2 and 4 processes
# (include/metagrad/dist/mpi.hpp), pkg-config for the test of metagrad.pc, and nlohmann-json3-dev
# for the reader of RTNeural's JSON model files (include/metagrad/io/rtneural_json.hpp, opt-in: the
# only header that needs a JSON library, and one well tested beats a parser of our own); with
# --benchmarks what benchmarks/run.sh compares against.
set -euo pipefail
packages=(g++ make cmake libboost-dev zlib1g-dev dataset-fashion-mnist)
if [ "${1:-}" = "--tests" ]; then packages+=(libboost-test-dev clang libclang-rt-14-dev python3-sklearn python3-numpy python3-torch python3-onnx libopenmpi-dev openmpi-bin pkg-config nlohmann-json3-dev); fi
# The run-time benchmarks' baselines: Google Benchmark, Eigen, libtorch, oneDNN and PyTorch, and an
# optimized BLAS for the latter two (Debian's default libblas is the reference one).
if [ "${1:-}" = "--benchmarks" ]; then
    packages+=(libbenchmark-dev libeigen3-dev libtorch-dev python3-torch libopenblas0-openmp libdnnl-dev)
fi
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo=sudo; fi
    echo "metagrad: installing ${missing[*]}"
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
