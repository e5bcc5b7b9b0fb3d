// metagrad::max_read_bytes: how much memory a reader may take for one file, and what it says otherwise.
#pragma once

#include <cstdint>
#include <new>
#include <stdexcept>
#include <string>

#include "metagrad/io/error.hpp"

namespace metagrad {

/// 2 GiB: about ten times what the largest common IDX set needs (Fashion-MNIST's training images
/// are 47 MB of bytes, 188 MB as float, 376 MB as double), yet well below what a corrupt or
/// hostile header can ask for (an honest header of 10^9 elements is 4 GB as float).
inline constexpr std::uint64_t default_max_read_bytes = std::uint64_t{2} << 30;

namespace detail {
// Read and written through the compiler's atomic built-ins (g++ and clang), not std::atomic:
// <atomic> would cost every program that reads a file 0.1-0.2 s of parsing.
inline std::uint64_t max_read_bytes_setting = default_max_read_bytes;
}  // namespace detail

/// The most bytes a reader holds for one file: its contents as read (after decompression) or the
/// data set built from them, whichever is larger. Every reader (`read_idx`, `load_idx`,
/// `load_csv`, `safetensors_file::read`, and so `load_parameters` and `load_checkpoint`) checks
/// the size a header announces against it *before* allocating, and refuses a file over it with an
/// `io_error` naming both sizes. `default_max_read_bytes` (2 GiB) unless set.
inline std::uint64_t max_read_bytes() noexcept { return __atomic_load_n(&detail::max_read_bytes_setting, __ATOMIC_RELAXED); }

/// Sets the limit for every reader in the process (from any thread) and returns the previous one.
inline std::uint64_t set_max_read_bytes(std::uint64_t bytes) noexcept {
    return __atomic_exchange_n(&detail::max_read_bytes_setting, bytes, __ATOMIC_RELAXED);
}

namespace detail {
/// `a * b`, or UINT64_MAX where it overflows: sizes computed from headers saturate instead of
/// wrapping, so that a product past 2^64 is refused rather than read as a small number.
constexpr std::uint64_t saturating_product(std::uint64_t a, std::uint64_t b) noexcept {
    if (a == 0 || b == 0) return 0;
    return a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

inline std::string size_text(std::uint64_t bytes) {
    return bytes == UINT64_MAX ? "more than 2^64 bytes" : std::to_string(bytes) + " bytes";
}

/// Throws unless `bytes` (what `what` needs) fits within `max_read_bytes()`.
inline void check_read_limit(const std::string& file, const std::string& where, std::uint64_t bytes, const std::string& what) {
    const std::uint64_t limit = max_read_bytes();
    if (bytes > limit)
        throw io_error(file, where,
                       "at most " + std::to_string(limit) + " bytes to read (metagrad::max_read_bytes(); raise it with "
                       "metagrad::set_max_read_bytes if the file is genuine)",
                       what + ": " + size_text(bytes));
}

/// Runs a reader's body, turning an allocation failure (std::bad_alloc, or std::length_error
/// from a container asked for more than it can hold) into an `io_error` naming the file: a
/// reader reports nothing but `io_error`.
template <class F>
auto reporting_allocation_failure(const std::string& file, F&& body) -> decltype(body()) {
    try {
        return body();
    } catch (const std::bad_alloc&) {
        throw io_error(file, "reading", "memory for its data (within metagrad::max_read_bytes(), " +
                                            std::to_string(max_read_bytes()) + " bytes)",
                       "an allocation failure (std::bad_alloc): the system has less memory free");
    } catch (const std::length_error& e) {
        throw io_error(file, "reading", "sizes a container can hold", std::string("std::length_error: ") + e.what());
    }
}
}  // namespace detail

}  // namespace metagrad
