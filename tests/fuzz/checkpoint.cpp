// Fuzzes load_checkpoint and load_parameters, through the public API and a file, into a small
// fixed network with Adam.
#include <cstddef>
#include <cstdint>
#include <string>

#include <sys/mman.h>
#include <unistd.h>

#include "harness.hpp"
#include "metagrad/metagrad.hpp"

namespace mg = metagrad;

namespace {
using net = mg::sequential<mg::input<2>, mg::dense<3>, mg::relu, mg::dense<2>>;

/// The input as a file, without touching the disk: an in-memory file (memfd) rewritten for each
/// input and opened by its /proc path, as a user's path would be.
const std::string& input_file(const std::uint8_t* data, std::size_t size) {
    static const int fd = memfd_create("fuzz-checkpoint", MFD_CLOEXEC);
    static const std::string path = "/proc/self/fd/" + std::to_string(fd);
    fuzz::require(fd >= 0 && ftruncate(fd, 0) == 0, "memfd_create or ftruncate failed");
    for (std::size_t done = 0; done < size;) {
        const ssize_t n = pwrite(fd, data + done, size - done, static_cast<off_t>(done));
        fuzz::require(n > 0, "writing the memfd failed");
        done += static_cast<std::size_t>(n);
    }
    return path;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::set_small_read_limit();
    const std::string& path = input_file(data, size);
    net::parameters<float> p;
    mg::adam<net, float> optimizer{mg::adam_options<float>{.learning_rate = 0.01f}};
    mg::training_position position;
    fuzz::expect_only_io_error([&] {
        mg::load_checkpoint(path, p, optimizer, position);
        // What loaded must resume: a generator that draws, counters below their limits.
        fuzz::require(optimizer.steps != UINT64_MAX, "load_checkpoint accepted a step count at its limit");
        (void)position.shuffle.below(10);
    });
    fuzz::expect_only_io_error([&] { mg::load_parameters(path, p); });
    return 0;
}
