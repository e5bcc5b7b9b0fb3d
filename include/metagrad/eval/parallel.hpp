// metagrad::eval::parallel_parts: how a run-time kernel splits its work between threads. The
// kernels know only this hook; the pool behind it (eval/thread_pool.hpp) is installed by
// `set_thread_count`, so code that never asks for threads pays for neither <thread> nor a pool.
#pragma once

#include <type_traits>

namespace metagrad::eval {

/// Where split work goes. `width` counts the threads available, the caller's included; `run`
/// calls `task(context, part)` for every part in [0, parts), parts <= width, and returns when
/// all are done. Installed by `set_thread_count`; one thread and no runner by default.
struct parallel_runner {
    unsigned width = 1;
    void (*run)(unsigned parts, void (*task)(void* context, unsigned part), void* context) = nullptr;
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

}  // namespace metagrad::eval
