// metagrad::set_thread_count: the threads the run-time kernels use, from a small pool of the
// project's own (see docs/design.md, "Threads", for why not OpenMP).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "metagrad/eval/parallel.hpp"

namespace metagrad {

namespace detail {
/// Workers that wait for a job, run their part of it, and wait again. A job wakes them by a
/// generation counter; they spin briefly before sleeping on it, because a training step hands
/// out several jobs a millisecond and a wake-up from sleep costs tens of microseconds.
class thread_pool {
public:
    explicit thread_pool(unsigned workers) {
        for (unsigned i = 0; i < workers; ++i) threads_.emplace_back([this, i] { work(i); });
    }
    thread_pool(const thread_pool&) = delete;
    thread_pool& operator=(const thread_pool&) = delete;
    ~thread_pool() {
        stop_.store(true);
        generation_.fetch_add(1);
        generation_.notify_all();
        for (auto& t : threads_) t.join();
    }

    unsigned width() const { return static_cast<unsigned>(threads_.size()) + 1; }

    /// Runs part 0 on the calling thread and parts 1.. on workers. A call from inside a part, or
    /// while another thread's job runs, runs every part itself: no nesting, no oversubscription.
    void run(unsigned parts, void (*task)(void*, unsigned), void* context) {
        std::unique_lock lock(busy_, std::try_to_lock);
        if (!lock.owns_lock() || inside_part()) {
            for (unsigned part = 0; part < parts; ++part) task(context, part);
            return;
        }
        task_ = task;
        context_ = context;
        const unsigned here = std::min(parts, width());
        parts_.store(here, std::memory_order_relaxed);
        pending_.store(here - 1, std::memory_order_relaxed);
        generation_.fetch_add(1, std::memory_order_release);
        generation_.notify_all();
        inside_part() = true;
        task(context, 0);
        inside_part() = false;
        while (pending_.load(std::memory_order_acquire) != 0) pause();
        // Parts beyond the pool's width (not asked for by the kernels) run here.
        for (unsigned part = here; part < parts; ++part) task(context, part);
    }

private:
    static bool& inside_part() {
        thread_local bool inside = false;
        return inside;
    }
    static void pause() {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#else
        std::this_thread::yield();
#endif
    }

    void work(unsigned index) {
        inside_part() = true;
        std::uint64_t seen = 0;
        for (;;) {
            // About a tenth of a millisecond of spinning, then sleep until the next job.
            for (int spin = 0; spin < 4096 && generation_.load(std::memory_order_acquire) == seen; ++spin) pause();
            generation_.wait(seen, std::memory_order_acquire);
            seen = generation_.load(std::memory_order_acquire);
            if (stop_.load()) return;
            // Workers beyond this job's parts sit it out; the others' fields are stable until
            // every part is done.
            if (index + 1 < parts_.load(std::memory_order_relaxed)) {
                task_(context_, index + 1);
                pending_.fetch_sub(1, std::memory_order_release);
            }
        }
    }

    std::vector<std::thread> threads_;
    std::mutex busy_;
    std::atomic<std::uint64_t> generation_{0};
    std::atomic<unsigned> pending_{0};
    std::atomic<bool> stop_{false};
    void (*task_)(void*, unsigned) = nullptr;
    void* context_ = nullptr;
    std::atomic<unsigned> parts_{1};
};

inline std::unique_ptr<thread_pool>& the_pool() {
    static std::unique_ptr<thread_pool> pool;
    return pool;
}
}  // namespace detail

/// The threads the run-time matrix kernels may use, the calling thread included: 1 (the
/// default) starts none. At most the machine's hardware threads are used. Leave room for other
/// pools in the process (a BLAS, libtorch, OpenMP): metagrad's pool and theirs together should not
/// exceed the cores. Not to be called while a training step or inference runs.
inline void set_thread_count(unsigned threads) {
    const unsigned hardware = std::max(1u, std::thread::hardware_concurrency());
    threads = std::clamp(threads, 1u, hardware);
    auto& pool = detail::the_pool();
    eval::detail::runner = {};
    pool.reset();
    if (threads > 1) {
        pool = std::make_unique<detail::thread_pool>(threads - 1);
        eval::detail::runner.width = threads;
        eval::detail::runner.run = [](unsigned parts, void (*task)(void*, unsigned), void* context) {
            detail::the_pool()->run(parts, task, context);
        };
    }
}

/// The threads the run-time kernels use now.
inline unsigned thread_count() { return eval::parallel_width(); }

}  // namespace metagrad
