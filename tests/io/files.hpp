// Helpers for the reader tests: writing byte strings to files and expecting a reader's error.
#pragma once

#include <fstream>
#include <functional>
#include <string>

#include <zlib.h>

#include <boost/test/unit_test.hpp>

#include "metagrad/io/error.hpp"

namespace test_files {

/// A path in the test's build directory.
inline std::string path(const std::string& name) { return std::string(METAGRAD_TEST_OUTPUT) + "/" + name; }

inline std::string write(const std::string& name, const std::string& bytes) {
    const std::string p = path(name);
    std::ofstream(p, std::ios::binary | std::ios::trunc) << bytes;
    return p;
}

inline std::string write_gzip(const std::string& name, const std::string& bytes) {
    const std::string p = path(name);
    gzFile f = gzopen(p.c_str(), "wb");
    gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
    gzclose(f);
    return p;
}

inline std::string read(const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

/// Runs `f`, which must throw metagrad::io_error whose message contains every one of `parts`.
inline void expect_error(const std::function<void()>& f, std::initializer_list<std::string> parts) {
    try {
        f();
        BOOST_ERROR("no error was reported; expected one mentioning '" << *parts.begin() << "'");
    } catch (const metagrad::io_error& e) {
        const std::string what = e.what();
        for (const std::string& part : parts)
            BOOST_TEST(what.find(part) != std::string::npos, "the message '" << what << "' lacks '" << part << "'");
    }
}

}  // namespace test_files
