// metagrad::detail::joined: a message from pieces, in one allocation.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>

namespace metagrad::detail {

/// The pieces one after another. For error messages built where they are thrown: a chain of
/// std::string's + is a temporary per piece, which g++ expands inline at every such place (an
/// exception's constructor came to 3 KB of code in every program that reads a file).
inline std::string joined(std::initializer_list<std::string_view> pieces) {
    std::size_t size = 0;
    for (const std::string_view piece : pieces) size += piece.size();
    std::string out;
    out.reserve(size);
    for (const std::string_view piece : pieces) out.append(piece);
    return out;
}

}  // namespace metagrad::detail
