// metagrad::eval::parallel_parts: how a run-time kernel splits its work between threads. The
// kernels know only this hook; the pool behind it (eval/thread_pool.hpp) is installed by
// `set_thread_count`, so code that never asks for threads pays for neither <thread> nor a pool.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace metagrad::eval {

/// Where split work goes. `width` counts the threads available, the caller's included; `run`
/// calls `task(context, part)` for every part in [0, parts), parts <= width, and returns when
/// all are done; `next_job_width` says how many threads to share the job that starts now between
/// (`width`, or 1 while the pool finds that sharing does not pay). Installed by
/// `set_thread_count`; one thread and no runner by default.
struct parallel_runner {
    unsigned width = 1;
    void (*run)(unsigned parts, void (*task)(void* context, unsigned part), void* context) = nullptr;
    unsigned (*next_job_width)() = nullptr;
};

namespace detail {
inline parallel_runner runner;
}  // namespace detail

/// The threads a kernel may split its work between (1 unless `set_thread_count` said more).
inline unsigned parallel_width() { return detail::runner.run ? detail::runner.width : 1; }

/// `f(part)` for every part in [0, parts) (parts <= parallel_width()), on as many threads.
template <class F>
inline void parallel_parts(unsigned parts, F&& f) {
    if (parts <= 1 || detail::runner.run == nullptr) {
        for (unsigned part = 0; part < parts; ++part) f(part);
        return;
    }
    using function = std::remove_reference_t<F>;
    detail::runner.run(parts, [](void* context, unsigned part) { (*static_cast<function*>(context))(part); }, &f);
}

namespace detail {
// One thread's share of a balanced split: granules [front, back) in one word, so that the owner
// (taking from the front) and a thief (taking from the back) each claim with one
// compare-exchange. A cache line each, so that owners claiming their own do not contend. The
// word is read and written through the compiler's atomic built-ins (g++ and clang have them)
// rather than std::atomic: <atomic> (and the waiting and clocks it brings in C++20) would cost
// every program that includes a kernel 0.2-0.4 s of parsing.
struct alignas(64) granule_block {
    std::uint64_t bounds;

    void set(std::uint64_t front, std::uint64_t back) { __atomic_store_n(&bounds, (back << 32) | front, __ATOMIC_RELAXED); }
    // Claims about half of what is left (at least one granule) from the front or the back; false
    // when nothing is left. Halving keeps the claims few while the tail stays fine-grained.
    bool claim(bool from_front, std::uint32_t& first, std::uint32_t& last) {
        std::uint64_t seen = __atomic_load_n(&bounds, __ATOMIC_RELAXED);
        for (;;) {
            const auto front = static_cast<std::uint32_t>(seen), back = static_cast<std::uint32_t>(seen >> 32);
            if (front >= back) return false;
            const std::uint32_t take = (back - front + 1) / 2;
            first = from_front ? front : back - take;
            last = first + take;
            const std::uint64_t rest = from_front ? (std::uint64_t{back} << 32) | last : (std::uint64_t{first} << 32) | front;
            // A failed exchange leaves the word's current value in `seen`.
            if (__atomic_compare_exchange_n(&bounds, &seen, rest, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) return true;
        }
    }
};
// More threads than this share a product's granules as this many parts: no product here is large
// enough to need more, and the blocks live on the caller's stack.
inline constexpr unsigned max_balanced_parts = 64;
}  // namespace detail

/// `f(begin, end)` over ranges that together cover [0, n) exactly once, each starting at a
/// multiple of `granule`, split between the threads and balanced while it runs. Each thread
/// first works through its own contiguous block, from the front, and then takes granules from
/// the back of slower threads' blocks. So each thread reads the same data from one call to the
/// next (a training step's weights stay in its core's cache), the threads finish together even
/// when one virtual CPU runs slower than the other (as on a shared host), and how the granules
/// are grouped into calls changes nothing a granule-aligned kernel computes.
template <class F>
inline void balanced_ranges(std::size_t n, std::size_t granule, F&& f) {
    const std::size_t granules = (n + granule - 1) / granule;
    // The pool's judge counts only jobs that could be shared.
    unsigned parts = granules <= 1 || detail::runner.next_job_width == nullptr ? 1 : detail::runner.next_job_width();
    if (parts > granules) parts = static_cast<unsigned>(granules);
    if (parts > detail::max_balanced_parts) parts = detail::max_balanced_parts;
    // A block's bounds are 32-bit granule counts: beyond them, one range (no product comes near).
    if (granules > UINT32_MAX) parts = 1;
    if (parts <= 1) {
        if (n > 0) f(std::size_t{0}, n);
        return;
    }
    detail::granule_block blocks[detail::max_balanced_parts];
    for (unsigned part = 0; part < parts; ++part) {
        const std::uint64_t front = granules * part / parts, back = granules * (part + 1) / parts;
        blocks[part].set(front, back);
    }
    const auto run = [&](std::uint32_t first, std::uint32_t last) {
        const std::size_t end = last * granule;
        f(first * granule, end < n ? end : n);
    };
    // The blocks' stores are published to the workers by the pool's hand-off.
    parallel_parts(parts, [&](unsigned part) {
        std::uint32_t first, last;
        while (blocks[part].claim(true, first, last)) run(first, last);
        for (unsigned other = 1; other < parts; ++other) {
            detail::granule_block& victim = blocks[(part + other) % parts];
            while (victim.claim(false, first, last)) run(first, last);
        }
    });
}

namespace detail {
/// Work that touches at least this many values is split between threads: a batch of 64 images of
/// 784 pixels is (a copy of it takes several microseconds; handing out the parts, about one).
inline constexpr std::size_t parallel_elements = std::size_t{1} << 15;
}  // namespace detail

/// `f(begin, end)` over [0, N) in ranges that start at multiples of `Granule`: at run time, when
/// the work touches `Elements` values or more, balanced between the kernel threads
/// (`balanced_ranges`); else, and in constant evaluation, one call. For loops whose parts write
/// disjoint values and compute each the same way on any split (samples of a batch, features of a
/// normalization), so that the results do not depend on the number of threads.
template <std::size_t N, std::size_t Granule, std::size_t Elements, class F>
constexpr void split_between_threads(F f) {
    if constexpr (Elements >= detail::parallel_elements && N > Granule) {
        if (!std::is_constant_evaluated()) {
            balanced_ranges(N, Granule, f);
            return;
        }
    }
    f(std::size_t{0}, N);
}

}  // namespace metagrad::eval
