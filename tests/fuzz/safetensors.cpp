// Fuzzes safetensors_file with arbitrary bytes, and copies out every tensor it accepts.
#include <cstddef>
#include <cstdint>
#include <string>

#include "harness.hpp"
#include "metagrad/io/safetensors.hpp"

namespace mg = metagrad;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::set_small_read_limit();
    fuzz::expect_only_io_error([&] {
        const auto file = mg::safetensors_file::from_bytes(std::string(reinterpret_cast<const char*>(data), size), "fuzz.safetensors");
        std::uint64_t covered = 0;
        for (const auto& [name, entry] : file.entries()) covered += entry.end - entry.begin;
        fuzz::require(covered + 8 <= size, "safetensors_file accepted tensors larger than the file");
        // Every tensor, into a tensor of each of a few shapes: io_error unless dtype and shape fit,
        // and then the copy must stay within the file (AddressSanitizer watches).
        for (const auto& named : file.entries()) {
            const std::string& name = named.first;  // clang 14 cannot capture a structured binding
            fuzz::expect_only_io_error([&] {
                mg::tensor<float, mg::shape<2>> t;
                file.copy_to(name, t);
            });
            fuzz::expect_only_io_error([&] {
                mg::tensor<double, mg::shape<1, 2>> t;
                file.copy_to(name, t);
            });
            fuzz::expect_only_io_error([&] {
                mg::tensor<float, mg::shape<3, 2>> t;
                file.copy_to(name, t);
            });
        }
        for (const auto& [key, value] : file.metadata()) fuzz::require(&file.metadata(key) == &value, "metadata lookup disagrees");
    });
    return 0;
}
