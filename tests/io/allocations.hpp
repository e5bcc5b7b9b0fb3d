// Replaces operator new for one test executable: records the largest allocation, and can make
// allocations above a size fail. Include it from exactly one file of an executable.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>

namespace test_allocations {
/// The largest size requested since the last reset.
inline std::atomic<std::size_t> largest{0};
/// Requests above this size throw std::bad_alloc (as a full machine would make them).
inline std::atomic<std::size_t> fail_above{SIZE_MAX};

/// Watches allocations for a scope: `largest` from zero, and `fail_above` as given.
struct watch {
    explicit watch(std::size_t fail_above_bytes = SIZE_MAX) {
        largest = 0;
        fail_above = fail_above_bytes;
    }
    ~watch() { fail_above = SIZE_MAX; }
};

inline void* allocate(std::size_t n) {
    std::size_t seen = largest.load(std::memory_order_relaxed);
    while (n > seen && !largest.compare_exchange_weak(seen, n, std::memory_order_relaxed)) {
    }
    if (n > fail_above.load(std::memory_order_relaxed)) throw std::bad_alloc();
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
}  // namespace test_allocations

// Replacement functions may not be inline: this header belongs to one translation unit.
// g++ 12 at -O1 and -O2 inlines these deletes into callers of the replaced `new` and then warns
// that `free` meets a pointer from `new`: here they are the same allocator, by construction.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void* operator new(std::size_t n) { return test_allocations::allocate(n); }
void* operator new[](std::size_t n) { return test_allocations::allocate(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
