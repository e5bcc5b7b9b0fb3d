// The examples' strict reading of a count or a seed on the command line.
#pragma once

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <string>

// A count or a seed: decimal digits only, as many as fit in 64 bits. std::stoull would skip
// leading spaces and take a sign ("--epochs ' -1'" ran 18446744073709551615 epochs); from_chars
// takes neither, and says when the number is too large.
inline std::uint64_t whole_number(const char* program, const std::string& flag, const std::string& value) {
    std::uint64_t n = 0;
    const char* end = value.data() + value.size();
    const auto [stop, error] = std::from_chars(value.data(), end, n);
    const bool digits = !value.empty() && std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!digits || error != std::errc{} || stop != end) {
        std::cerr << program << ": " << flag << " needs a non-negative whole number, not '" << value << "' ("
                  << (digits ? "at most 18446744073709551615" : "decimal digits only: no sign, space, point or exponent") << ")\n";
        std::exit(2);
    }
    return n;
}
