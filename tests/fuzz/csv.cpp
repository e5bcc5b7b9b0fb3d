// Fuzzes load_csv with arbitrary text, under each kind of options.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "harness.hpp"
#include "metagrad/io/csv.hpp"

namespace mg = metagrad;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::set_small_read_limit();
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto check = [](const auto& d, std::size_t features) {
        fuzz::require(d.size() > 0 && d.features.size() == d.size() * features, "load_csv returned a data set of the wrong size");
        for (const std::uint32_t label : d.labels) fuzz::require(label < d.classes, "load_csv returned a label out of range");
        for (const auto x : d.features) fuzz::require(x == x && x - x == 0, "load_csv returned a value that is not finite");
    };
    fuzz::expect_only_io_error([&] { check(mg::load_csv_from_memory<float, mg::shape<2>>(text, 3, {}, "fuzz.csv"), 2); });
    fuzz::expect_only_io_error(
        [&] { check(mg::load_csv_from_memory<double, mg::shape<3>>(text, 2, {.sklearn_header = true}, "fuzz.csv"), 3); });
    fuzz::expect_only_io_error(
        [&] { check(mg::load_csv_from_memory<float, mg::shape<1>>(text, 4, {.skip_lines = 1, .separator = ';'}, "fuzz.csv"), 1); });
    return 0;
}
