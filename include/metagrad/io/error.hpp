// metagrad::io_error: what a reader reports about a file it cannot use.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>

#include "metagrad/detail/joined.hpp"

namespace metagrad {

/// Thrown by every reader (IDX, CSV, safetensors, checkpoints) when a file is missing,
/// truncated, corrupt or does not fit the network. `what()` reads
/// "FILE: at byte OFFSET: expected WHAT, found WHAT" (or "line N" for text files), so that the
/// message alone says where to look and what is wrong.
class io_error : public std::runtime_error {
public:
    io_error(std::string file, std::string where, const std::string& expected, const std::string& found)
        : std::runtime_error(detail::joined({file, ": ", where, ": expected ", expected, ", found ", found})),
          file_(std::move(file)), where_(std::move(where)) {}

    const std::string& file() const noexcept { return file_; }
    /// "at byte N", "line N, column M", "header" ...
    const std::string& where() const noexcept { return where_; }

    static std::string at_byte(std::uint64_t offset) { return "at byte " + std::to_string(offset); }

private:
    std::string file_, where_;
};

}  // namespace metagrad
