// The machine's bounds that the run-time benchmarks are reported against: fp32 FMA throughput
// of one core (and of several, one thread each) and the read bandwidth of a buffer that fits L2.
// Built with -ffp-contract=fast, so that `a * b + c` on vectors is one FMA instruction.
#pragma once

#include <chrono>
#include <cstddef>
#include <thread>
#include <vector>

#include "metagrad/eval/simd.hpp"

namespace peaks {

using vec = metagrad::eval::simd<float>;
inline constexpr std::size_t lanes = metagrad::eval::lanes<float>;

/// fp32 FLOPs per second of one thread: 16 independent chains of vector FMAs, enough to cover
/// the FMA latency times the number of FMA ports. One FMA counts as two FLOPs.
inline double fma_flops(double seconds = 0.5) {
    constexpr int chains = 16;
    vec acc[chains];
    for (int i = 0; i < chains; ++i) acc[i] = metagrad::eval::splat<float>(static_cast<float>(i) * 1e-3f);
    const vec a = metagrad::eval::splat<float>(0.9999999f), b = metagrad::eval::splat<float>(1e-7f);
    std::size_t rounds = 0;
    const auto start = std::chrono::steady_clock::now();
    double elapsed = 0;
    do {
        for (int r = 0; r < 4096; ++r)
            for (int i = 0; i < chains; ++i) acc[i] = acc[i] * a + b;
        asm volatile("" : "+m"(acc));  // the chains' results are used: nothing is folded away
        rounds += 4096;
        elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    } while (elapsed < seconds);
    return static_cast<double>(rounds) * chains * lanes * 2 / elapsed;
}

/// The same on `threads` threads at once, summed.
inline double fma_flops_threads(unsigned threads, double seconds = 0.5) {
    std::vector<double> each(threads);
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t) pool.emplace_back([&, t] { each[t] = fma_flops(seconds); });
    for (auto& t : pool) t.join();
    double total = 0;
    for (const double f : each) total += f;
    return total;
}

/// Bytes per second one thread reads from a buffer of `bytes` (default 256 KiB: inside L2 on
/// current x86 cores), summed with several vector accumulators.
inline double read_bandwidth(std::size_t bytes = 256 << 10, double seconds = 0.5) {
    std::vector<float> buffer(bytes / sizeof(float), 1.0f);
    constexpr int chains = 8;
    std::size_t passes = 0;
    vec acc[chains] = {};
    const auto start = std::chrono::steady_clock::now();
    double elapsed = 0;
    do {
        for (int r = 0; r < 16; ++r) {
            for (std::size_t i = 0; i + chains * lanes <= buffer.size(); i += chains * lanes)
                for (int c = 0; c < chains; ++c) acc[c] += metagrad::eval::load(&buffer[i + c * lanes]);
            asm volatile("" : "+m"(acc), "+m"(buffer[0]));  // every pass reads the buffer again
        }
        passes += 16;
        elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    } while (elapsed < seconds);
    return static_cast<double>(passes) * static_cast<double>(bytes) / elapsed;
}

}  // namespace peaks
