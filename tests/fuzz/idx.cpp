// Fuzzes read_idx and load_idx with bytes as they are: plain or gzip IDX, valid or not.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "harness.hpp"
#include "metagrad/io/idx.hpp"

namespace mg = metagrad;

namespace {
std::string idx_header(std::initializer_list<std::uint32_t> extents) {
    std::string out{0, 0, 8, static_cast<char>(extents.size())};
    for (const std::uint32_t e : extents)
        for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>(e >> shift);
    return out;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::set_small_read_limit();
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    std::size_t items = 0;
    bool images = false;
    fuzz::expect_only_io_error([&] {
        const mg::idx_array a = mg::read_idx_from_memory(bytes, "fuzz.idx");
        std::uint64_t elements = 1;
        for (const std::uint32_t e : a.extents) elements *= e;
        fuzz::require(!a.extents.empty() && a.values.size() == elements, "read_idx returned values that its extents do not describe");
        items = a.items();
        images = a.extents.size() >= 2 && a.item_size() == 4;
    });
    // The same bytes as images of a data set of 4-value samples, with as many valid labels ...
    if (images && items <= 4096) {
        const std::string labels = idx_header({static_cast<std::uint32_t>(items)}) + std::string(items, '\1');
        fuzz::expect_only_io_error([&] {
            const auto d = mg::load_idx_from_memory<float, mg::shape<4>>(bytes, labels, 3);
            fuzz::require(d.size() == items && d.features.size() == 4 * items, "load_idx returned a data set of the wrong size");
        });
    }
    // ... and as the labels of two valid images.
    const std::string two_images = idx_header({2, 2, 2}) + std::string(8, '\7');
    fuzz::expect_only_io_error([&] {
        const auto d = mg::load_idx_from_memory<double, mg::shape<2, 2>>(two_images, bytes, 3);
        fuzz::require(d.size() == 2 && d.labels[0] < 3 && d.labels[1] < 3, "load_idx returned labels out of range");
    });
    return 0;
}
