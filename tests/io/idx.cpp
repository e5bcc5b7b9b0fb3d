// Tests of include/metagrad/io/idx.hpp: reading plain and gzip IDX files, and a clear error for
// every kind of missing, truncated, corrupt or mismatched file.
#include <cstdint>
#include <string>

#include <boost/test/unit_test.hpp>

#include "files.hpp"
#include "metagrad/metagrad.hpp"

namespace mg = metagrad;
using test_files::expect_error;

namespace {
std::string be32(std::uint32_t v) {
    return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}
/// An IDX file of unsigned bytes with the given extents and data.
std::string idx(std::initializer_list<std::uint32_t> extents, const std::string& data, char type = 0x08) {
    std::string out{0, 0, type, static_cast<char>(extents.size())};
    for (const std::uint32_t e : extents) out += be32(e);
    return out + data;
}
std::string bytes(std::size_t n, int start = 0) {
    std::string s;
    for (std::size_t i = 0; i < n; ++i) s += static_cast<char>((start + static_cast<int>(i)) % 251);
    return s;
}
// Three 2x2 images, three labels.
const std::string images = idx({3, 2, 2}, bytes(12));
const std::string labels = idx({3}, std::string{1, 0, 2});
}  // namespace

BOOST_AUTO_TEST_CASE(reads_plain_and_gzip_files) {
    for (const bool gz : {false, true}) {
        const auto write = gz ? test_files::write_gzip : test_files::write;
        const auto i = write("images.idx", images), l = write("labels.idx", labels);
        const auto d = mg::load_idx<float, mg::shape<4>>(i, l, 3);
        BOOST_TEST(d.size() == 3u);
        BOOST_TEST(d.sample(2)[3] == 11.0f);
        BOOST_TEST(d.labels[2] == 2u);
        // The same file fits a network taking 2 x 2 samples.
        BOOST_TEST((mg::load_idx<double, mg::shape<2, 2>>(i, l, 3).features == std::vector<double>(d.features.begin(), d.features.end())));
    }
}

BOOST_AUTO_TEST_CASE(rejects_bad_files_with_a_clear_message) {
    const auto good_labels = test_files::write("good-labels.idx", labels);
    const auto good_images = test_files::write("good-images.idx", images);
    const auto load = [&](const std::string& i, const std::string& l) { return [=] { (void)mg::load_idx<float, mg::shape<4>>(i, l, 3); }; };

    expect_error(load(test_files::path("no-such-file.idx"), good_labels), {"no-such-file.idx", "opening", "No such file"});
    expect_error(load(test_files::write("empty.idx", ""), good_labels), {"empty.idx", "at byte 0", "magic number", "end of file"});
    expect_error(load(test_files::write("text.idx", "P5\n28 28\n255\n"), good_labels), {"text.idx", "at byte 0", "not an IDX file"});
    expect_error(load(test_files::write("floats.idx", idx({3, 2, 2}, bytes(48), 0x0D)), good_labels),
                 {"floats.idx", "at byte 2", "unsigned byte", "type code 13"});
    expect_error(load(test_files::write("short-header.idx", images.substr(0, 9)), good_labels),
                 {"short-header.idx", "at byte 8", "extent 1", "end of file"});
    expect_error(load(test_files::write("truncated.idx", images.substr(0, images.size() - 5)), good_labels),
                 {"truncated.idx", "at byte 23", "12 data bytes", "truncated"});
    expect_error(load(test_files::write("extra.idx", images + "xyz"), good_labels), {"extra.idx", "at byte 28", "more bytes"});
    expect_error(load(test_files::write("huge.idx", idx({0xffffffffu, 0xffffffffu, 0xffffu}, "")), good_labels),
                 {"huge.idx", "a plausible size"});
    expect_error(load(test_files::write("wrong-size.idx", idx({2, 3, 2}, bytes(12))), good_labels),
                 {"wrong-size.idx", "items of 4 values", "2 x 3 x 2"});
    expect_error(load(good_images, test_files::write("few-labels.idx", idx({2}, std::string{1, 0}))),
                 {"few-labels.idx", "3 labels", "found 2"});
    expect_error(load(good_images, test_files::write("bad-label.idx", idx({3}, std::string{1, 7, 2}))),
                 {"bad-label.idx", "at byte 9", "a class below 3", "label 7"});
    expect_error(load(good_images, test_files::write("label-matrix.idx", idx({3, 1}, std::string{1, 0, 2}))),
                 {"label-matrix.idx", "one extent"});

    // gzip damage: a cut stream, and a flipped byte in the compressed data (CRC or inflate error).
    const std::string gz = test_files::read(test_files::write_gzip("whole.idx.gz", idx({200, 2, 2}, bytes(800))));
    expect_error(load(test_files::write("cut.idx.gz", gz.substr(0, gz.size() / 2)), good_labels), {"cut.idx.gz", "decompressing", "unexpected end of file"});
    std::string flipped = gz;
    flipped[gz.size() / 2] = static_cast<char>(flipped[gz.size() / 2] ^ 0x55);
    flipped[gz.size() / 2 + 1] = static_cast<char>(flipped[gz.size() / 2 + 1] ^ 0x55);
    expect_error(load(test_files::write("flipped.idx.gz", flipped), good_labels), {"flipped.idx.gz"});
    std::string bad_crc = gz;
    bad_crc[gz.size() - 6] = static_cast<char>(bad_crc[gz.size() - 6] ^ 1);  // the CRC-32 in the trailer
    expect_error(load(test_files::write("bad-crc.idx.gz", bad_crc), good_labels), {"bad-crc.idx.gz", "damaged", "incorrect data check"});
}
