// The machine's bounds that the run-time benchmarks are reported against: fp32 FMA throughput
// of one core (and of several, one thread each) and the read bandwidth of a buffer that fits L2.
// Built with -ffp-contract=fast, so that `a * b + c` on vectors is one FMA instruction.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <memory>
#include <new>
#include <thread>
#include <vector>

#include "metagrad/eval/simd.hpp"

namespace peaks {

using vec = metagrad::eval::simd<float>;
inline constexpr std::size_t lanes = metagrad::eval::lanes<float>;

/// How a series of short timing windows is summarized: the best (a peak, which other tenants of a
/// shared machine did not lower) or the median (what a workload running then typically got).
enum class window { best, median };

/// fp32 FLOPs per second of one thread: 16 independent chains of vector FMAs, enough to cover
/// the FMA latency times the number of FMA ports. One FMA counts as two FLOPs. The machine is
/// shared, so the result is summarized over short windows during `seconds`.
inline double fma_flops(double seconds = 0.5, window summary = window::best) {
    constexpr int chains = 16;
    vec acc[chains];
    for (int i = 0; i < chains; ++i) acc[i] = metagrad::eval::splat<float>(static_cast<float>(i) * 1e-3f);
    const vec a = metagrad::eval::splat<float>(0.9999999f), b = metagrad::eval::splat<float>(1e-7f);
    const auto start = std::chrono::steady_clock::now();
    std::vector<double> rates;
    while (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < seconds) {
        const auto window = std::chrono::steady_clock::now();
        for (int r = 0; r < 65536; ++r)
            for (int i = 0; i < chains; ++i) acc[i] = acc[i] * a + b;
        asm volatile("" : "+m"(acc));  // the chains' results are used: nothing is folded away
        const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - window).count();
        rates.push_back(65536.0 * chains * lanes * 2 / elapsed);
    }
    std::sort(rates.begin(), rates.end());
    return summary == window::best ? rates.back() : rates[rates.size() / 2];
}

/// The same on `threads` threads at once, summed.
inline double fma_flops_threads(unsigned threads, double seconds = 0.5, window summary = window::best) {
    std::vector<double> each(threads);
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t) pool.emplace_back([&, t] { each[t] = fma_flops(seconds, summary); });
    for (auto& t : pool) t.join();
    double total = 0;
    for (const double f : each) total += f;
    return total;
}

/// What two threads of FMAs typically get together against one alone (medians of windows, one
/// measurement after the other): on a machine whose two cores are shared with other tenants this
/// is below 2, and it caps what any two-thread workload can gain in the same run.
inline double typical_two_thread_scaling(double seconds = 0.5) {
    const double one = fma_flops(seconds, window::median);
    return fma_flops_threads(2, seconds, window::median) / one;
}

/// Bytes per second one thread reads from a buffer of `bytes` (default 1 MiB: inside L2 on this
/// machine, 2 MiB per core, and about the size of W3's weights), cache-line aligned. The buffer is
/// read as 8 interleaved streams, each into its own vector accumulator: one stream alone is held
/// back by the prefetcher (about half the rate here), and a matrix-vector product reads its rows
/// as several streams too. The best of repeated passes, as for the FMA peak.
inline double read_bandwidth(std::size_t bytes = 1 << 20, double seconds = 0.5) {
    constexpr std::size_t streams = 8;
    const std::size_t n = bytes / sizeof(float), segment = n / streams / lanes * lanes;
    std::unique_ptr<float[], void (*)(float*)> buffer(static_cast<float*>(::operator new(bytes, std::align_val_t{64})),
                                                      [](float* p) { ::operator delete(p, std::align_val_t{64}); });
    std::fill(buffer.get(), buffer.get() + n, 1.0f);
    vec acc[streams] = {};
    const auto start = std::chrono::steady_clock::now();
    double best = 0;
    while (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < seconds) {
        const auto pass = std::chrono::steady_clock::now();
        // Sums in locals that never escape, so they stay in registers (acc's address escapes).
        vec sums[streams] = {};
        const float* data = buffer.get();
        for (std::size_t i = 0; i < segment; i += lanes)
            for (std::size_t s = 0; s < streams; ++s) sums[s] += metagrad::eval::load(&data[s * segment + i]);
        for (std::size_t s = 0; s < streams; ++s) acc[s] += sums[s];
        asm volatile("" : "+m"(acc), "+m"(buffer[0]));  // every pass reads the buffer again
        const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - pass).count();
        best = std::max(best, static_cast<double>(streams * segment * sizeof(float)) / elapsed);
    }
    return best;
}

}  // namespace peaks
