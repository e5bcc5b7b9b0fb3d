// metagrad::detail::input_file: a file, pipe or device opened for reading, every call checked.
#pragma once

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "metagrad/io/error.hpp"
#include "metagrad/io/read_limit.hpp"

namespace metagrad::detail {

/// Reads a path front to back with POSIX calls whose every result is checked: no seek and no size
/// query is trusted, so a regular file, a pipe (`mkfifo`, `/dev/stdin`, a shell's `<(...)`) and
/// a device (`/dev/null`) read alike, to their end. A directory is refused when opened. Every
/// failure throws `io_error` naming the path, the byte and the system's reason.
class input_file {
public:
    explicit input_file(std::string path) : path_(std::move(path)) {
        do fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
        while (fd_ < 0 && errno == EINTR);
        if (fd_ < 0) throw io_error(path_, "opening", "a readable file", std::strerror(errno));
        struct stat status {};
        if (::fstat(fd_, &status) != 0) {
            const int error = errno;
            ::close(fd_);
            throw io_error(path_, "opening", "a file whose type can be queried (fstat)", std::strerror(error));
        }
        if (S_ISDIR(status.st_mode)) {
            ::close(fd_);
            throw io_error(path_, "opening", "a file, a pipe or a device to read", "a directory");
        }
        // A hint only: a regular file's size lets `read_to_end` allocate once, and refuse a file
        // over the limit before reading it. The data read decide.
        if (S_ISREG(status.st_mode) && status.st_size > 0) size_hint_ = static_cast<std::uint64_t>(status.st_size);
    }
    input_file(const input_file&) = delete;
    input_file& operator=(const input_file&) = delete;
    ~input_file() { ::close(fd_); }

    /// Reads up to `n` bytes into `into`; fewer only at the end of the data.
    std::size_t read(void* into, std::size_t n) {
        std::size_t done = 0;
        while (done < n) {
            const ::ssize_t got = ::read(fd_, static_cast<char*>(into) + done, std::min<std::size_t>(n - done, std::size_t{1} << 30));
            if (got < 0) {
                if (errno == EINTR) continue;
                throw io_error(path_, io_error::at_byte(offset_), "readable data", std::strerror(errno));
            }
            if (got == 0) break;
            done += static_cast<std::size_t>(got);
            offset_ += static_cast<std::uint64_t>(got);
        }
        return done;
    }

    /// The next piece of the data (empty at its end), valid until the next call: the interface
    /// the decoders share with `memory_bytes`.
    std::string_view next_chunk() {
        if (buffer_.empty()) buffer_.resize(std::size_t{1} << 17);
        return {buffer_.data(), read(buffer_.data(), buffer_.size())};
    }

    /// Everything left, refusing more than `max_read_bytes()` (a regular file over it before
    /// reading anything, a pipe as soon as it passes it).
    std::string read_to_end() {
        const std::uint64_t limit = max_read_bytes();
        const std::uint64_t expected = size_hint_ > offset_ ? size_hint_ - offset_ : 0;
        if (expected) check_read_limit(path_, "opening", expected, "a file of this size");
        // One byte more than expected, so that a file of the size announced ends in a short read;
        // 4 KiB, doubling, where nothing is announced (pipes, devices).
        std::string out(static_cast<std::size_t>(expected ? expected + 1 : 4096), '\0');
        std::size_t have = 0;
        for (;;) {
            have += read(out.data() + have, out.size() - have);
            if (have < out.size()) break;  // the end: read() fills what it is given unless the data end
            if (have > limit) check_read_limit(path_, io_error::at_byte(offset_), have, "more data (still reading)");
            const std::uint64_t grown = std::uint64_t{out.size()} * 2;
            out.resize(static_cast<std::size_t>(limit < grown ? limit + 1 : grown));
        }
        check_read_limit(path_, io_error::at_byte(offset_), have, "a file of this size");
        out.resize(have);
        return out;
    }

    const std::string& path() const { return path_; }
    /// Bytes read so far.
    std::uint64_t offset() const { return offset_; }

private:
    std::string path_;
    int fd_ = -1;
    std::uint64_t size_hint_ = 0, offset_ = 0;
    std::string buffer_;
};

/// Bytes in memory served as `input_file` serves a file's: the whole rest as one chunk.
class memory_bytes {
public:
    explicit memory_bytes(std::string_view bytes) : bytes_(bytes) {}
    std::string_view next_chunk() {
        const std::string_view out = bytes_.substr(0, std::size_t{1} << 30);
        bytes_.remove_prefix(out.size());
        return out;
    }

private:
    std::string_view bytes_;
};

}  // namespace metagrad::detail
