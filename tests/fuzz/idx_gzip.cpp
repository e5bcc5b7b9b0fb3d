// Fuzzes the gzip path of read_idx with valid gzip streams of arbitrary contents: packed here
// (in one member or two), they must read exactly as the plain bytes do.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <zlib.h>

#include "harness.hpp"
#include "metagrad/io/idx.hpp"

namespace mg = metagrad;

namespace {
/// `bytes` as one gzip member of stored (uncompressed) blocks, built here: no allocation, so
/// that the reader's framing and the IDX parsing behind it get the executions.
std::string gzip_stored(std::string_view bytes) {
    std::string out{'\x1f', '\x8b', 8, 0, 0, 0, 0, 0, 0, 3};  // magic, deflate, no flags, no time, Unix
    do {
        const std::size_t n = std::min<std::size_t>(bytes.size(), 65535);
        out += static_cast<char>(n == bytes.size());  // BFINAL on the last block, BTYPE 00: stored
        for (const unsigned v : {unsigned(n), unsigned(~n & 0xffff)}) out += static_cast<char>(v), out += static_cast<char>(v >> 8);
        out.append(bytes.substr(0, n));
        bytes.remove_prefix(n);
    } while (!bytes.empty());
    return out;
}
std::string trailer(std::string_view bytes) {
    const uLong crc = crc32(0, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(bytes.size()));
    std::string out;
    for (const std::uint32_t v : {static_cast<std::uint32_t>(crc), static_cast<std::uint32_t>(bytes.size())})
        for (int shift = 0; shift < 32; shift += 8) out += static_cast<char>(v >> shift);
    return out;
}
/// `bytes` compressed by zlib at its fastest level, with a small window and little memory.
std::string gzip_deflated(std::string_view bytes) {
    z_stream z{};
    fuzz::require(deflateInit2(&z, 1, Z_DEFLATED, 16 + 9, 1, Z_DEFAULT_STRATEGY) == Z_OK, "deflateInit2 failed");
    std::string out(deflateBound(&z, static_cast<uLong>(bytes.size())) + 32, '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
    z.avail_in = static_cast<uInt>(bytes.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    fuzz::require(deflate(&z, Z_FINISH) == Z_STREAM_END, "deflate did not finish");
    out.resize(z.total_out);
    deflateEnd(&z);
    return out;
}

struct outcome {
    bool ok = false;
    mg::idx_array array;
};
outcome read(std::string_view bytes) {
    outcome o;
    fuzz::expect_only_io_error([&] {
        o.array = mg::read_idx_from_memory(bytes, "fuzz.idx.gz");
        o.ok = true;
    });
    return o;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::set_small_read_limit();
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    const outcome plain = read(bytes);
    // Contents starting with gzip's magic number would be read as gzip when plain.
    if (size >= 2 && data[0] == 0x1f && data[1] == 0x8b) return 0;
    const std::size_t split = size ? data[size - 1] % (size + 1) : 0;
    // One stored member; a stored member and a deflated one, split where the last byte says.
    const std::string_view head = bytes.substr(0, split), tail = bytes.substr(split);
    for (const std::string& gz : {gzip_stored(bytes) + trailer(bytes), gzip_stored(head) + trailer(head) + gzip_deflated(tail)}) {
        const outcome packed = read(gz);
        fuzz::require(packed.ok == plain.ok, "gzip and plain bytes disagree on whether they are a valid IDX file");
        fuzz::require(!plain.ok || (packed.array.extents == plain.array.extents && packed.array.values == plain.array.values),
                      "gzip and plain bytes read differently");
    }
    return 0;
}
