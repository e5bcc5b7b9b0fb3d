// metagrad::progress_bar: a progress line with rate and ETA, or plain lines when not on a terminal.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <ostream>
#include <string>

#include <unistd.h>

namespace metagrad {

/// Whether standard output is a terminal (a progress bar can redraw itself) or a file or pipe
/// (it should print whole lines).
inline bool stdout_is_terminal() { return ::isatty(::fileno(stdout)) == 1; }

/// Shows progress through `total` units of work (batches) of `unit_size` samples each. On a
/// terminal it redraws one line, at most ten times a second: a bar, the count, samples per second,
/// the estimated time left and a caller's note (the running loss). Elsewhere it prints a line at
/// each quarter, so that logs stay readable.
class progress_bar {
public:
    progress_bar(std::ostream& out, std::string label, std::size_t total, std::size_t unit_size, bool terminal)
        : out_(out), label_(std::move(label)), total_(total), unit_size_(unit_size), terminal_(terminal),
          start_(clock::now()), last_draw_(start_) {}

    /// `done` units finished; `note` is appended to the line. The bar prints no number of the
    /// caller's own: format them with `number_or_marker` (train/non_finite.hpp), which spells a
    /// NaN "nan" where printf writes "-nan" (`train_epoch` throws before a NaN loss reaches here,
    /// unless its loss check is off).
    void update(std::size_t done, const std::string& note) {
        const auto now = clock::now();
        if (terminal_) {
            if (done < total_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
            last_draw_ = now;
            out_ << '\r' << line(done, note, now) << "\x1b[K" << std::flush;
        } else {
            const std::size_t quarter = total_ ? done * 4 / total_ : 4;
            if (quarter > printed_quarters_ && quarter < 4) {
                printed_quarters_ = quarter;
                out_ << line(done, note, now) << '\n' << std::flush;
            }
        }
    }

    /// Ends the line with a summary (the caller's final note).
    void finish(const std::string& note) {
        const auto now = clock::now();
        if (terminal_) out_ << '\r';
        out_ << line(total_, note, now) << (terminal_ ? "\x1b[K\n" : "\n") << std::flush;
    }

    double seconds() const { return std::chrono::duration<double>(clock::now() - start_).count(); }

private:
    using clock = std::chrono::steady_clock;

    std::string line(std::size_t done, const std::string& note, clock::time_point now) const {
        const double elapsed = std::chrono::duration<double>(now - start_).count();
        const double rate = elapsed > 0 ? static_cast<double>(done * unit_size_) / elapsed : 0;
        const double left = done ? elapsed * static_cast<double>(total_ - done) / static_cast<double>(done) : 0;
        constexpr std::size_t width = 24;
        const std::size_t filled = total_ ? done * width / total_ : width;
        char text[160];
        std::snprintf(text, sizeof text, "%s [%s%s] %zu/%zu  %.0f samples/s  %s %s", label_.c_str(),
                      std::string(filled, '#').c_str(), std::string(width - filled, '.').c_str(), done, total_, rate,
                      done < total_ ? "ETA" : "in", clock_text(done < total_ ? left : elapsed).c_str());
        return std::string(text) + (note.empty() ? "" : "  " + note);
    }
    static std::string clock_text(double seconds) {
        const long s = static_cast<long>(seconds + 0.5);
        char text[32];
        std::snprintf(text, sizeof text, "%ld:%02ld", s / 60, s % 60);
        return text;
    }

    std::ostream& out_;
    std::string label_;
    std::size_t total_, unit_size_;
    bool terminal_;
    clock::time_point start_, last_draw_;
    std::size_t printed_quarters_ = 0;
};

}  // namespace metagrad
