#!/usr/bin/env bash
# Installs what metagrad needs on Debian 12, only what is missing: the compiler, CMake and Boost
# headers for the library and examples; with --tests also Boost.Test and clang (the suite builds
# with both compilers).
set -euo pipefail
packages=(g++ make cmake libboost-dev)
if [ "${1:-}" = "--tests" ]; then packages+=(libboost-test-dev clang); fi
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo=sudo; fi
    echo "metagrad: installing ${missing[*]}"
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
