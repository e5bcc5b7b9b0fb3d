// metagrad::available_threads: how many threads this process can really run at once (its CPU
// affinity and its cgroup's CPU quota), the default a program should give set_thread_count.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <thread>

#if defined(__linux__)
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>
#endif

namespace metagrad {

namespace detail {
/// The whole CPUs a cgroup v2 `cpu.max` ("QUOTA PERIOD", or "max PERIOD" for none) or a cgroup v1
/// quota and period allow, rounded down (at least 1), or 0 when there is no limit or the text is
/// not understood. Rounded down because threads beyond the quota are throttled together at the
/// end of each period, which costs more than the fraction of a CPU that rounding gives away.
constexpr unsigned cpu_quota_threads(std::string_view quota, std::string_view period) {
    auto number = [](std::string_view text, std::uint64_t& out) {
        while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
        if (text.empty() || text.size() > 18) return false;
        out = 0;
        for (char c : text) {
            if (c < '0' || c > '9') return false;
            out = out * 10 + static_cast<std::uint64_t>(c - '0');
        }
        return true;
    };
    std::uint64_t q = 0, p = 0;
    if (!number(quota, q) || !number(period, p) || p == 0) return 0;  // "max", "-1" (v1) or garbage
    const std::uint64_t whole = q / p;
    return whole == 0 ? 1u : static_cast<unsigned>(std::min<std::uint64_t>(whole, 1u << 16));
}

/// The same for the text of a cgroup v2 `cpu.max` file.
constexpr unsigned cpu_max_threads(std::string_view cpu_max) {
    const std::size_t space = cpu_max.find(' ');
    if (space == std::string_view::npos) return 0;
    return cpu_quota_threads(cpu_max.substr(0, space), cpu_max.substr(space + 1));
}

#if defined(__linux__)
// A small system file's text, or "" when it cannot be read (plain POSIX calls: <fstream> would
// cost every user of the thread pool its parsing time).
inline std::string small_file_text(const std::string& path) {
    std::string text;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return text;
    char buffer[512];
    for (ssize_t got; text.size() < 4096 && (got = ::read(fd, buffer, sizeof buffer)) > 0;)
        text.append(buffer, static_cast<std::size_t>(got));
    ::close(fd);
    return text;
}

// The tightest CPU quota on the way from this process's cgroup up to the root (a quota on any
// ancestor applies too), or 0 for none. cgroup v2 first, then v1's cpu controller.
inline unsigned cgroup_quota_threads() {
    const std::string membership = small_file_text("/proc/self/cgroup");
    unsigned tightest = 0;
    auto consider = [&](unsigned limit) {
        if (limit != 0 && (tightest == 0 || limit < tightest)) tightest = limit;
    };
    std::string_view lines = membership;
    while (!lines.empty()) {
        const std::size_t end = std::min(lines.find('\n'), lines.size());
        const std::string_view line = lines.substr(0, end);
        lines.remove_prefix(std::min(end + 1, lines.size()));
        // "0::/path" (v2) or "N:cpu,cpuacct:/path" (v1).
        const std::size_t first = line.find(':'), second = line.find(':', first + 1);
        if (first == std::string_view::npos || second == std::string_view::npos) continue;
        const std::string_view controllers = line.substr(first + 1, second - first - 1);
        std::string path(line.substr(second + 1));
        if (path.find("..") != std::string::npos) continue;
        const bool v2 = controllers.empty();
        bool v1_cpu = false;
        for (std::string_view rest = controllers; !rest.empty();) {
            const std::size_t comma = std::min(rest.find(','), rest.size());
            if (rest.substr(0, comma) == "cpu") v1_cpu = true;
            rest.remove_prefix(std::min(comma + 1, rest.size()));
        }
        if (!v2 && !v1_cpu) continue;
        const std::string root = v2 ? "/sys/fs/cgroup" : "/sys/fs/cgroup/" + std::string(controllers);
        for (;;) {
            if (v2)
                consider(cpu_max_threads(small_file_text(root + path + "/cpu.max")));
            else
                consider(cpu_quota_threads(small_file_text(root + path + "/cpu.cfs_quota_us"),
                                           small_file_text(root + path + "/cpu.cfs_period_us")));
            if (path.empty() || path == "/") break;
            path.erase(path.rfind('/'));
        }
    }
    return tightest;
}
#endif
}  // namespace detail

/// The threads this process can run at once: the CPUs its affinity mask allows (`taskset`,
/// `docker --cpuset-cpus`), and no more than its cgroup's CPU quota (`docker --cpus`, systemd's
/// CPUQuota), rounded down; the hardware threads where neither can be read. What a program should
/// pass to `set_thread_count` by default, rather than `std::thread::hardware_concurrency()`.
/// Reads a few small system files: call it once, not per step.
inline unsigned available_threads() {
    unsigned threads = std::max(1u, std::thread::hardware_concurrency());
#if defined(__linux__)
    cpu_set_t allowed;
    CPU_ZERO(&allowed);
    if (::sched_getaffinity(0, sizeof allowed, &allowed) == 0) threads = std::max(1, CPU_COUNT(&allowed));
    if (const unsigned quota = detail::cgroup_quota_threads(); quota != 0) threads = std::min(threads, quota);
#endif
    return threads;
}

}  // namespace metagrad
