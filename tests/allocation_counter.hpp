// Every allocation of the test program that includes this goes through here, so a test can count
// them (`allocations`). Include it in one translation unit of a program only: it replaces the
// global operator new. Not inlined: g++ -O2 would otherwise pair malloc/free with new/delete and
// warn.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <new>

namespace {
std::size_t allocations = 0;
}
[[gnu::noinline]] void* operator new(std::size_t size) {
    ++allocations;
    if (void* p = std::malloc(size ? size : 1)) return p;
    throw std::bad_alloc{};
}
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept { std::free(p); }
