// metagrad::detail::replace_file: writes a file so that a crash or power loss leaves the old or the new one.
#pragma once

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <string>
#include <string_view>

#include <fcntl.h>
#include <unistd.h>

#include "metagrad/io/error.hpp"

namespace metagrad::detail {

/// Replaces the file at `path` by the concatenation of `pieces`: written to `path + ".partial"`,
/// flushed to the disk (fsync), renamed over `path` (atomic on POSIX file systems), and the
/// rename made durable by syncing the directory. An interruption at any point, power loss
/// included, leaves either the previous file or the new one at `path`. On any failure the
/// partial file is removed (unless it could not be created, e.g. because something else has its
/// name) and `io_error` names the file, the step and the system's reason; `path` is then as it
/// was.
inline void replace_file(const std::string& path, std::initializer_list<std::string_view> pieces) {
    const std::string temporary = path + ".partial";
    int fd = -1;
    do fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    while (fd < 0 && errno == EINTR);
    if (fd < 0) throw io_error(temporary, "creating", "a writable file (saving " + path + ")", std::strerror(errno));

    // From here on the partial file is ours: every failure removes it.
    const auto fail = [&](const std::string& where, const std::string& expected, int error) {
        if (fd >= 0) ::close(fd);
        ::unlink(temporary.c_str());
        throw io_error(temporary, where, expected + " (saving " + path + "; the previous file is unchanged)", std::strerror(error));
    };
    std::uint64_t written = 0;
    for (std::string_view piece : pieces) {
        while (!piece.empty()) {
            const ::ssize_t n = ::write(fd, piece.data(), piece.size());
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) fail(io_error::at_byte(written), "room to write", n < 0 ? errno : ENOSPC);
            piece.remove_prefix(static_cast<std::size_t>(n));
            written += static_cast<std::uint64_t>(n);
        }
    }
    if (::fsync(fd) != 0) fail("syncing to disk (fsync)", "a file the disk accepts", errno);
    const int closed = ::close(fd);
    fd = -1;
    // close reports write errors some file systems (NFS) defer until then.
    if (closed != 0 && errno != EINTR) fail("closing", "a file the disk accepts", errno);
    if (std::rename(temporary.c_str(), path.c_str()) != 0) {
        const int error = errno;
        ::unlink(temporary.c_str());
        throw io_error(path, "renaming " + temporary + " to it", "a replaceable file (the previous file is unchanged)",
                       std::strerror(error));
    }

    // The rename lives in the directory: sync it too, or a power loss may undo it.
    const std::size_t slash = path.rfind('/');
    const std::string directory = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
    int dir = -1;
    do dir = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    while (dir < 0 && errno == EINTR);
    if (dir < 0) throw io_error(path, "opening its directory " + directory + " to sync the rename", "a readable directory", std::strerror(errno));
    // Some file systems cannot sync a directory (EINVAL): they have nothing more to make durable.
    if (::fsync(dir) != 0 && errno != EINVAL) {
        const int error = errno;
        ::close(dir);
        throw io_error(path, "syncing its directory " + directory + " (fsync) after the rename",
                       "a directory the disk accepts (the new file is in place but may not survive a power loss)", std::strerror(error));
    }
    ::close(dir);
}

}  // namespace metagrad::detail
