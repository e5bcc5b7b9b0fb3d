// metagrad::non_finite_error and metagrad::finite_checks: how training stops when its numbers stop being finite.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

#include "metagrad/core/parameters.hpp"
#include "metagrad/core/tensor.hpp"

namespace metagrad {

/// What `train_epoch` and `evaluate` check. The default costs one comparison per step: a NaN or
/// infinite loss stops training with a `non_finite_error` before that step changes anything.
/// `tensors` also checks every parameter before the epoch and after each update, and each
/// gradient before the update where the step keeps them (every optimizer but plain `sgd`, whose
/// update is fused into the backward pass): a pass over all parameters and gradients per step,
/// so it is off by default. It catches values that go non-finite while the loss is still finite,
/// and the error names the first tensor as checkpoints name it ("1.weight").
struct finite_checks {
    bool loss = true;
    bool tensors = false;
};

/// Thrown when a loss, a parameter or a gradient is NaN or infinite. `what()` says which and
/// where, in words; the fields say it for programs. `epoch` (1-based) is 0 outside training
/// (`evaluate`); `batch` is 1-based within the pass over the data, of `batches`; `step` is the
/// 1-based count of training steps over the run (`training_position::step` + 1); `tensor` is the
/// checkpoint name of the offending parameter ("1.weight") or empty when the loss was checked.
class non_finite_error : public std::runtime_error {
public:
    non_finite_error(const std::string& message, std::size_t epoch_, std::size_t batch_, std::size_t batches_, std::size_t step_,
                     std::string tensor_)
        : std::runtime_error(message), epoch(epoch_), batch(batch_), batches(batches_), step(step_), tensor(std::move(tensor_)) {}
    std::size_t epoch, batch, batches, step;
    std::string tensor;
};

/// Whether every element of `t` is finite: the exponent field of each element is or-ed into one
/// word and compared once, which the compiler vectorizes (`std::isfinite` with an early exit is
/// a branch per element). Run time only.
template <class T, class S>
inline bool all_finite(const tensor<T, S>& t) {
    using bits = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
    constexpr bits exponent = static_cast<bits>(sizeof(T) == 4 ? 0x7f800000u : 0x7ff0000000000000u);
    bool any = false;
    for (const T v : t) any |= (std::bit_cast<bits>(v) & exponent) == exponent;
    return !any;
}

/// The checkpoint name ("1.weight") of the first parameter tensor of `p`, in layer order, that
/// holds a NaN or an infinity; empty when all are finite.
template <class Net, class T>
std::string first_non_finite(const network_parameters<Net, T>& p) {
    std::string name;
    for_each_named_tensor(
        [&](std::string_view path, const auto& t) {
            if (name.empty() && !all_finite(t)) name = std::string(path);
        },
        p);
    return name;
}

/// A number as a progress line or a report shows it: `format` (printf's) when it is finite,
/// otherwise "nan", "inf" or "-inf" spelled out whatever the format (printf writes "-nan" for a NaN
/// whose sign bit is set, which reads like a negative number and says nothing more).
inline std::string number_or_marker(double v, const char* format = "%.4f") {
    // Comparisons rather than std::isnan and std::isinf: <cmath> would cost every program that
    // includes an optimizer 0.1 s of parsing.
    if (v != v) return "nan";
    if (v == std::numeric_limits<double>::infinity() || v == -std::numeric_limits<double>::infinity()) return v > 0 ? "inf" : "-inf";
    char text[64];
    std::snprintf(text, sizeof text, format, v);
    return text;
}

}  // namespace metagrad
