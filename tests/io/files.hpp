// Helpers for the reader tests: writing byte strings to files and pipes, and expecting a reader's error.
#pragma once

#include <csignal>
#include <cstdint>
#include <fstream>
#include <functional>
#include <string>
#include <thread>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <boost/test/unit_test.hpp>

#include "metagrad/io/error.hpp"
#include "metagrad/io/read_limit.hpp"

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

/// `bytes` gzip-compressed, in memory.
inline std::string gzip(const std::string& name, const std::string& bytes) { return read(write_gzip(name, bytes)); }

/// A named pipe (mkfifo) at `name` whose writer, on its own thread, writes `bytes` in two pieces
/// once a reader opens it, then closes it: the reader sees a pipe, with no size to query and
/// data arriving in parts.
class fifo {
public:
    fifo(const std::string& name, std::string bytes) : path_(test_files::path(name)) {
        std::signal(SIGPIPE, SIG_IGN);  // a reader that stops early must not kill the test
        ::unlink(path_.c_str());
        BOOST_REQUIRE(::mkfifo(path_.c_str(), 0600) == 0);
        writer_ = std::thread([this, bytes = std::move(bytes)] {
            const int fd = ::open(path_.c_str(), O_WRONLY);  // waits for the reader
            if (fd < 0) return;
            const std::size_t half = bytes.size() / 2;
            (void)!::write(fd, bytes.data(), half);
            (void)!::write(fd, bytes.data() + half, bytes.size() - half);
            ::close(fd);
        });
    }
    fifo(const fifo&) = delete;
    fifo& operator=(const fifo&) = delete;
    ~fifo() {
        // If no reader came, open the read end ourselves so that the writer's open returns.
        const int fd = ::open(path_.c_str(), O_RDONLY | O_NONBLOCK);
        writer_.join();
        if (fd >= 0) ::close(fd);
        ::unlink(path_.c_str());
    }
    const std::string& path() const { return path_; }

private:
    std::string path_;
    std::thread writer_;
};

/// Sets metagrad::max_read_bytes for a scope.
struct read_limit {
    explicit read_limit(std::uint64_t bytes) : previous(metagrad::set_max_read_bytes(bytes)) {}
    ~read_limit() { metagrad::set_max_read_bytes(previous); }
    std::uint64_t previous;
};

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
