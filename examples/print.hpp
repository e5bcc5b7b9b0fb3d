// Printing tensors for the examples (not part of the library: formatting is the user's choice).
#pragma once

#include <cstddef>
#include <cstdio>
#include <string>

#include "metagrad/core/tensor.hpp"

namespace examples {

inline std::string format_number(double v) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.6g", v == 0 ? 0.0 : v);  // no "-0"
    return buffer;
}

/// [a, b, c] for a vector, [[a, b], [c, d]] for a matrix.
template <class T, class S>
std::string format(const metagrad::tensor<T, S>& t) {
    std::string out = S::rank == 2 ? "[" : "";
    for (std::size_t r = 0; r < S::rows; ++r) {
        out += r ? ", [" : "[";
        for (std::size_t c = 0; c < S::last; ++c) out += (c ? ", " : "") + format_number(t[r * S::last + c]);
        out += "]";
    }
    return S::rank == 2 ? out + "]" : out;
}

}  // namespace examples
