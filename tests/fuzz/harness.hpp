// What every fuzz harness shares: a reader may report io_error and nothing else.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "metagrad/io/error.hpp"
#include "metagrad/io/read_limit.hpp"

namespace fuzz {

/// Runs `read`, for which `metagrad::io_error` is the one expected failure. Any other exception,
/// or an io_error reporting an allocation failure (the harnesses set a small read limit, so no
/// input may need more memory than that), is a finding: print it and abort, which libFuzzer
/// records as a crash with the input that caused it.
template <class F>
void expect_only_io_error(F&& read) {
    try {
        read();
    } catch (const metagrad::io_error& e) {
        // "reading" is the place only detail::reporting_allocation_failure reports (the message
        // itself may quote the input, which libFuzzer fills with the strings it sees compared).
        if (e.where() == "reading") {
            std::fprintf(stderr, "finding: a reader ran out of memory within its limit: %s\n", e.what());
            std::abort();
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "finding: a reader threw a foreign exception: %s\n", e.what());
        std::abort();
    } catch (...) {
        std::fprintf(stderr, "finding: a reader threw something that is not a std::exception\n");
        std::abort();
    }
}

/// Fails the run (abort) when an invariant of a successful read does not hold.
inline void require(bool condition, const char* what) {
    if (!condition) {
        std::fprintf(stderr, "finding: %s\n", what);
        std::abort();
    }
}

/// Inputs are at most libFuzzer's -max_len (4 KB by default): a 64 KiB limit lets every honest
/// input through (as doubles too) and makes headers that announce more take the limit's path,
/// without the cost of large allocations under AddressSanitizer.
inline void set_small_read_limit() {
    static const bool once = (metagrad::set_max_read_bytes(64u << 10), true);
    (void)once;
}

}  // namespace fuzz
