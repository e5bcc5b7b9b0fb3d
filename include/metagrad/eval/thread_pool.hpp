// metagrad::set_thread_count: the threads the run-time kernels use, from a small pool of the
// project's own (see docs/design.md, "Threads", for why not OpenMP).
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "metagrad/eval/available_threads.hpp"
#include "metagrad/eval/parallel.hpp"
#include "metagrad/eval/sharing_judge.hpp"

namespace metagrad {

namespace detail {
inline void cpu_pause() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#else
    std::this_thread::yield();
#endif
}

/// Spins while `busy(value)` holds for the word's value, for at most `spin`, then sleeps on the
/// word until it no longer holds; true if it slept. The value tested and the value slept on are
/// the same load: testing one load and sleeping on another slept forever when the last change
/// fell between the two (a caller waiting for its last part, found hung beside two fuzzers).
/// The clock is read every few dozen pauses: a pause lasts from a few to over a hundred cycles
/// depending on the core. `Word` is a `std::atomic` (a scripted one in the tests).
template <class Word, class Busy>
bool wait_while(std::chrono::nanoseconds spin, Word& word, Busy busy) {
    const auto until = std::chrono::steady_clock::now() + spin;
    auto value = word.load(std::memory_order_acquire);
    for (int round = 0; busy(value); ++round) {
        if (round % 32 == 31 && std::chrono::steady_clock::now() >= until) {
            do {
                word.wait(value, std::memory_order_acquire);  // returns once the word is not `value`
                value = word.load(std::memory_order_acquire);
            } while (busy(value));
            return true;
        }
        cpu_pause();
        value = word.load(std::memory_order_acquire);
    }
    return false;
}

/// Workers that wait for a job and claim its parts, as the caller does. Nobody owns a part
/// before claiming it, so a worker that the system has not run yet (a busy machine) delays
/// nothing: the caller claims what is left and runs it itself. Waiting threads spin briefly (a
/// training step hands out several jobs a millisecond, and a wake-up from sleep costs tens of
/// microseconds) and then sleep, the caller too, so that a thread waiting for another that has no
/// core gives its own core away instead of burning it. And while sharing jobs is timed slower
/// than running them alone (a machine with more runnable threads than cores), the kernels run
/// them alone (`sharing_judge`, asked through `next_job_width`).
class thread_pool {
public:
    explicit thread_pool(unsigned workers) {
        for (unsigned i = 0; i < workers; ++i) threads_.emplace_back([this] { work(); });
    }
    thread_pool(const thread_pool&) = delete;
    thread_pool& operator=(const thread_pool&) = delete;
    ~thread_pool() {
        stop_.store(true);
        jobs_.fetch_add(1);
        jobs_.notify_all();
        for (auto& t : threads_) t.join();
    }

    unsigned width() const { return static_cast<unsigned>(threads_.size()) + 1; }

    /// Runs every part in [0, parts) once, on the calling thread and on whichever workers claim
    /// parts first, and returns when all are done. A call from inside a part, or while another
    /// thread's job runs, runs every part itself: no nesting, no oversubscription.
    void run(unsigned parts, void (*task)(void*, unsigned), void* context) {
        std::unique_lock<std::mutex> lock;
        if (!inside_part()) lock = std::unique_lock(busy_, std::try_to_lock);
        if (!lock.owns_lock() || parts <= 1 || parts > max_parts) {
            for (unsigned part = 0; part < parts; ++part) task(context, part);
            return;
        }
        task_ = task;
        context_ = context;
        done_.store(0, std::memory_order_relaxed);
        // The claim word publishes the fields above to whoever claims a part of this job.
        claims_.store(job_word(++job_, parts, 0), std::memory_order_release);
        jobs_.fetch_add(1, std::memory_order_release);
        jobs_.notify_all();
        inside_part() = true;
        run_claimed_parts();
        inside_part() = false;
        wait_while(caller_spin, done_, [parts](unsigned done) { return done != parts; });
    }

    /// The threads to share the kernel job that starts now between: all, or 1 while sharing
    /// does not pay (`sharing_judge`), or 1 from inside a part or while another thread's job
    /// runs (as `run` would).
    unsigned next_job_width() {
        if (inside_part()) return 1;
        const std::unique_lock lock(busy_, std::try_to_lock);
        if (!lock.owns_lock()) return 1;
        const auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch());
        return judge_.next_job(now.count()) == sharing_judge::way::shared ? width() : 1;
    }

    /// The judge's record: for tests.
    const sharing_judge& judge() const { return judge_; }

private:
    // The claim word: the job's number, its part count and the next part to claim. One word, so
    // that a worker that wakes late can never claim a part of a job that has ended: its
    // compare-exchange fails against the newer job's word or finds no part left.
    static constexpr unsigned max_parts = 0xffff;
    static constexpr std::uint64_t job_word(std::uint64_t job, std::uint64_t parts, std::uint64_t next) {
        return job << 32 | parts << 16 | next;
    }

    // Claims parts of the current job until none is left. A part claimed belongs to a job that
    // cannot end before the part is done, so task_ and context_ are that job's.
    void run_claimed_parts() {
        std::uint64_t word = claims_.load(std::memory_order_acquire);
        for (;;) {
            const auto parts = static_cast<unsigned>(word >> 16 & 0xffff), next = static_cast<unsigned>(word & 0xffff);
            if (next >= parts) return;
            if (!claims_.compare_exchange_weak(word, word + 1, std::memory_order_acquire, std::memory_order_acquire))
                continue;
            task_(context_, next);
            // The caller sleeps on done_ only after spinning: wake it if this was the last part.
            if (done_.fetch_add(1, std::memory_order_acq_rel) + 1 == parts) done_.notify_one();
            word = claims_.load(std::memory_order_acquire);
        }
    }

    static bool& inside_part() {
        thread_local bool inside = false;
        return inside;
    }
    // The caller waits for parts that other threads have started: they end within a kernel's
    // granule unless that thread lost its core, and then sleeping gives the core to it.
    static constexpr std::chrono::microseconds caller_spin{50};
    // Workers wait between a training step's jobs, a few to some tens of microseconds apart.
    static constexpr std::chrono::microseconds worker_spin{100};

    void work() {
        inside_part() = true;
        // The count at construction: a job (or the stop) published before this thread started
        // is then seen at once.
        unsigned seen = 0;
        for (;;) {
            wait_while(worker_spin, jobs_, [seen](unsigned jobs) { return jobs == seen; });
            seen = jobs_.load(std::memory_order_acquire);
            if (stop_.load()) return;
            run_claimed_parts();
        }
    }

    std::vector<std::thread> threads_;
    std::mutex busy_;
    std::uint64_t job_ = 0;  // job_ and judge_ are the business of the caller that holds busy_
    sharing_judge judge_;
    void (*task_)(void*, unsigned) = nullptr;
    void* context_ = nullptr;
    alignas(64) std::atomic<std::uint64_t> claims_{0};
    alignas(64) std::atomic<unsigned> done_{0};
    alignas(64) std::atomic<unsigned> jobs_{0};
    std::atomic<bool> stop_{false};
};

inline std::unique_ptr<thread_pool>& the_pool() {
    static std::unique_ptr<thread_pool> pool;
    return pool;
}
}  // namespace detail

/// Whether the kernels share every job between the threads, or only while that pays.
enum class thread_sharing { when_it_pays, always };

/// The threads the run-time matrix kernels may use, the calling thread included: 1 (the
/// default) starts none. At most the machine's hardware threads are used; `available_threads()`
/// is the count this process may really run at once (its CPU affinity and CPU quota). Leave room
/// for other pools in the process (a BLAS, libtorch, OpenMP): metagrad's pool and theirs together
/// should not exceed the cores. Not to be called while a training step or inference runs.
///
/// On a busy machine more threads never wait for each other's turn: a part is run by whichever
/// thread claims it first, so a worker that the system does not schedule leaves its share to the
/// caller, and a thread waiting for another sleeps after a few microseconds. And by default the
/// kernels share their work only while that pays: the pool times windows of jobs run shared and
/// alone and runs the faster way (`thread_sharing::when_it_pays`); `thread_sharing::always`
/// shares every job large enough (tests, benchmarks of the shared path). Results are the same
/// bits either way.
inline void set_thread_count(unsigned threads, thread_sharing sharing = thread_sharing::when_it_pays) {
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
        if (sharing == thread_sharing::when_it_pays)
            eval::detail::runner.next_job_width = [] { return detail::the_pool()->next_job_width(); };
        else
            eval::detail::runner.next_job_width = [] { return eval::detail::runner.width; };
    }
}

/// The threads the run-time kernels use now.
inline unsigned thread_count() { return eval::parallel_width(); }

}  // namespace metagrad
