// metagrad::detail::sharing_judge: whether sharing the kernels' jobs between threads pays now,
// judged by the clock (used by eval/thread_pool.hpp).
#pragma once

#include <algorithm>
#include <cstdint>

namespace metagrad::detail {

/// Two threads beat one on a quiet machine. On a busy one a worker gets its core late or loses it
/// in the middle of a part, and waking it costs the caller too; whether sharing still pays depends
/// on the load, which changes. The one judge no unforeseen cause can fool is the clock, so the
/// caller measures: it runs windows of `window` jobs all shared or all alone (a job run alone is
/// the one-thread code path, and the workers sleep), keeps the mean time of a window each way, and
/// runs the faster way, trying the other one window in 8, or in 32 when it is clearly slower, so
/// that a change of load is seen. A window is timed from job start to job start, so the time
/// between jobs (the step's serial work, which a worker may slow down) counts; a gap over
/// `longest_gap` is the program doing something else and counts as that much. Which thread runs
/// a part changes no result, so the judge changes only the time.
class sharing_judge {
public:
    enum class way : unsigned char { shared, alone };

    static constexpr unsigned window = 64;
    static constexpr std::int64_t longest_gap_ns = 50'000'000;
    // A way this much slower is tried once in 32 windows: at 1.5 times slower that costs 1.6 %.
    static constexpr float clear_ratio = 1.25f;

    /// How to run the job that starts now (`now_ns`: a steady clock's reading).
    way next_job(std::int64_t now_ns) {
        if (started_) window_ns_ += std::clamp(now_ns - last_start_ns_, std::int64_t{0}, longest_gap_ns);
        started_ = true;
        last_start_ns_ = now_ns;
        if (jobs_++ == window) {
            record_window(static_cast<float>(window_ns_));
            jobs_ = 1;
            window_ns_ = 0;
        }
        return current_;
    }

    /// The mean time of a window run this way (0 before the first), and the way jobs run now.
    float mean_window_ns(way how) const { return mean_[index(how)]; }
    way current() const { return current_; }

private:
    static constexpr unsigned index(way how) { return how == way::shared ? 0 : 1; }

    // A window's mean moves by a quarter of each sample, and a sample counts at most four times
    // the mean: a window stretched by the program's own pause must not outweigh many.
    void record_window(float ns) {
        float& mean = mean_[index(current_)];
        ns = std::max(ns, 1.0f);
        mean = mean == 0 ? ns : mean + (std::min(ns, 4 * mean) - mean) / 4;
        if (mean_[0] == 0) {
            current_ = way::shared;
        } else if (mean_[1] == 0) {
            current_ = way::alone;
        } else {
            const way faster = mean_[0] <= mean_[1] ? way::shared : way::alone;
            const float ratio = std::max(mean_[0], mean_[1]) / std::min(mean_[0], mean_[1]);
            const unsigned every = ratio > clear_ratio ? 32 : 8;
            const bool try_other = ++windows_ % every == 0;
            current_ = try_other ? (faster == way::shared ? way::alone : way::shared) : faster;
        }
    }

    way current_ = way::shared;
    bool started_ = false;
    unsigned jobs_ = 0, windows_ = 0;
    std::int64_t last_start_ns_ = 0, window_ns_ = 0;
    float mean_[2] = {0, 0};  // nanoseconds per window: shared, alone
};

}  // namespace metagrad::detail
