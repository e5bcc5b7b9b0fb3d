// metagrad::summary_table: a network's summary printed as a table, like other frameworks' summary().
#pragma once

#include <cstddef>
#include <cstdio>
#include <string>
#include <string_view>

#include "metagrad/core/summary.hpp"

namespace metagrad {

namespace detail {
inline std::string grouped(std::size_t n) {
    std::string digits = std::to_string(n), out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return out;
}
inline std::string bytes_text(std::size_t bytes) {
    char text[32];
    if (bytes < 1024) std::snprintf(text, sizeof text, "%zu B", bytes);
    else if (bytes < (std::size_t{1} << 20)) std::snprintf(text, sizeof text, "%.1f KiB", static_cast<double>(bytes) / 1024);
    else std::snprintf(text, sizeof text, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
    return text;
}
inline std::string padded(std::string s, std::size_t width, bool right) {
    if (s.size() >= width) return s;
    return right ? std::string(width - s.size(), ' ') + s : s + std::string(width - s.size(), ' ');
}
}  // namespace detail

/// The summary of `Net` as text: one line per layer (position, name, output shape, parameters,
/// forward FLOPs per sample), the totals, and memory in element type `T`: parameters,
/// activations per sample and per batch of `Batch`, and the state of `Optimizer` (any type with
/// `state_copies`, e.g. `adam<Net, T>`; `void` for none).
template <class Net, class T = float, class Optimizer = void, std::size_t Batch = 1>
std::string summary_table() {
    using S = network_summary<Net>;
    std::string out = "layer  type        output shape        parameters    FLOPs/sample\n";
    for (std::size_t i = 0; i < S::depth; ++i) {
        const layer_summary& row = S::layers[i];
        std::string shape = "(";
        for (std::size_t k = 0; k < row.output_rank; ++k) shape += (k ? ", " : "") + std::to_string(row.output_extents[k]);
        shape += ")";
        out += detail::padded(std::to_string(i), 7, false) + detail::padded(std::string(row.name), 12, false) +
               detail::padded(shape, 16, false) + detail::padded(detail::grouped(row.parameters), 14, true) +
               detail::padded(detail::grouped(row.flops), 16, true) + "\n";
    }
    out += detail::padded("total", 35, false) + detail::padded(detail::grouped(S::parameters), 14, true) +
           detail::padded(detail::grouped(S::flops_per_sample), 16, true) + "\n";
    out += "memory (" + std::to_string(sizeof(T)) + "-byte scalars): parameters " +
           detail::bytes_text(S::template parameter_bytes<T>) + ", activations " +
           detail::bytes_text(S::template activation_bytes_per_sample<T>) + " per sample";
    if constexpr (Batch > 1)
        out += " (" + detail::bytes_text(Batch * S::template activation_bytes_per_sample<T>) + " per batch of " +
               std::to_string(Batch) + ")";
    if constexpr (!std::is_void_v<Optimizer>)
        out += ", optimizer state " + detail::bytes_text(Optimizer::state_copies * S::template parameter_bytes<T>);
    return out + "\n";
}

}  // namespace metagrad
