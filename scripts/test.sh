#!/usr/bin/env bash
# The whole test suite: installs what is missing, then builds and runs every test with g++
# (optimized, for the default x86-64 target) and with clang under AddressSanitizer and
# UndefinedBehaviorSanitizer (unoptimized); the tests that run the numeric kernels again with AVX2
# and AVX-512 where the CPU has them; all with -Wall -Wextra -Wpedantic -Werror; and the thread
# pool's tests under ThreadSanitizer. Each extra build runs only what it can change
# (METAGRAD_TEST_SCOPE): the suite stays within half an hour on two cores. (The sanitizers ride
# on the clang build: a separate g++ sanitizer build cost 13 of the suite's 33 minutes, while
# clang's instrumented build takes about as long as its plain one.)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --tests
jobs=$(nproc)
log=$(mktemp)
trap 'rm -f "$log"' EXIT

run() {
    local name=$1
    shift
    echo "=== metagrad tests: $name"
    cmake -S . -B "build/$name" -DMETAGRAD_WERROR=ON "$@" >/dev/null || return 1
    cmake --build "build/$name" -j "$jobs" || return 1
    ctest --test-dir "build/$name" -j "$jobs" --output-on-failure | tee -a "$log" || return 1
}

status=0
expected=2
run gcc -DCMAKE_CXX_COMPILER=g++ -DCMAKE_BUILD_TYPE=Release || status=1
# The kernels' tests again with AVX2 and with AVX-512 vectors, where this CPU has them (the
# build above uses the default x86-64 target: SSE2).
for level in "x86-64-v3 avx2" "x86-64-v4 avx512f"; do
    set -- $level
    if grep -qw "$2" /proc/cpuinfo 2>/dev/null; then
        expected=$((expected + 1))
        run "gcc-$1" -DCMAKE_CXX_COMPILER=g++ -DCMAKE_BUILD_TYPE=Release -DMETAGRAD_ARCH="$1" \
            -DMETAGRAD_TEST_SCOPE=kernels -DMETAGRAD_BUILD_EXAMPLES=OFF || status=1
    else
        echo "=== metagrad tests: no $2 on this CPU, the $1 build is skipped"
    fi
done
UBSAN_OPTIONS=print_stacktrace=1 run clang-sanitizers -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Debug \
    -DMETAGRAD_SANITIZE=address,undefined || status=1
# The thread pool's lock-free hand-offs under ThreadSanitizer: only its own tests (the other
# builds run every test on threads too).
echo "=== metagrad tests: threads under ThreadSanitizer"
expected=$((expected + 1))
if cmake -S . -B build/threads-tsan -DMETAGRAD_WERROR=ON -DCMAKE_CXX_COMPILER=g++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DMETAGRAD_SANITIZE=thread -DMETAGRAD_BUILD_EXAMPLES=OFF >/dev/null &&
    cmake --build build/threads-tsan --target test_threads -j "$jobs"; then
    TSAN_OPTIONS=halt_on_error=1 ctest --test-dir build/threads-tsan -R '^threads$' --output-on-failure | tee -a "$log" || status=1
else
    status=1
fi

# One closing line over the builds.
passed=$(grep -oE '[0-9]+% tests passed, [0-9]+ tests failed out of [0-9]+' "$log" |
    awk '{failed += $4; total += $9} END {print total - failed}')
failed=$(grep -oE '[0-9]+% tests passed, [0-9]+ tests failed out of [0-9]+' "$log" | awk '{failed += $4} END {print failed + 0}')
builds=$(grep -c 'tests passed' "$log" || true)
if [ "$builds" -ne "$expected" ]; then status=1; fi
echo "metagrad: $passed passed, $failed failed"
exit $status
