// Tests of include/metagrad/io/idx.hpp: reading plain and gzip IDX files (from files, pipes and
// memory), and a clear error for every kind of missing, truncated, corrupt, mismatched or
// oversized file.
#include <cstdint>
#include <string>

#include <sys/stat.h>

#include <boost/test/unit_test.hpp>

#include "allocations.hpp"
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

// A rank of data-parallel training keeps only its shards: samples [first, last) of the file,
// which is still read and checked to its end.
BOOST_AUTO_TEST_CASE(a_range_of_samples_is_kept_alone) {
    for (const bool gz : {false, true}) {
        const auto write = gz ? test_files::write_gzip : test_files::write;
        const auto i = write("range-images.idx", images), l = write("range-labels.idx", labels);
        BOOST_TEST((mg::idx_extents(i) == std::vector<std::uint32_t>{3, 2, 2}));
        const auto all = mg::load_idx<float, mg::shape<4>>(i, l, 3);
        const auto part = mg::load_idx<float, mg::shape<4>, std::uint8_t>(i, l, 3, {1, 3});
        BOOST_TEST(part.size() == 2u);
        BOOST_TEST(part.features.size() == 8u);
        BOOST_TEST((part.labels == std::vector<std::uint32_t>{0, 2}));
        for (std::size_t k = 0; k < 4; ++k) BOOST_TEST(part.feature(1, k) == all.sample(2)[k]);
        BOOST_TEST((mg::load_idx<float, mg::shape<4>>(i, l, 3, {3, 3}).size() == 0u));
        expect_error([&] { (void)mg::load_idx<float, mg::shape<4>>(i, l, 3, {2, 5}); },
                     {"range-images.idx", "header", "the samples asked for, [2, 5)", "found 3 images"});
        expect_error([&] { (void)mg::load_idx<float, mg::shape<4>>(i, l, 3, {2, 1}); }, {"the samples asked for, [2, 1)"});
    }
    // The labels are checked beyond the range too: a corrupt file is refused whatever is kept.
    const auto bad = test_files::write("range-bad-labels.idx", idx({3}, std::string{1, 0, 7}));
    expect_error([&] { (void)mg::load_idx<float, mg::shape<4>>(test_files::write("range-images2.idx", images), bad, 3, {0, 1}); },
                 {"range-bad-labels.idx", "at byte 10", "a class below 3", "label 7"});
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
                 {"huge.idx", "items of 4 values", "4294967295 x 4294967295 x 65535"});
    expect_error([] { (void)mg::read_idx(test_files::write("huge-array.idx", idx({0xffffffffu, 0xffffffffu, 0xffffu}, ""))); },
                 {"huge-array.idx", "header", "at most 2147483648 bytes", "set_max_read_bytes",
                  "extents 4294967295 x 4294967295 x 65535 (more than 2^64 elements) as unsigned bytes: more than 2^64 bytes"});
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

BOOST_AUTO_TEST_CASE(memory_and_pipes_read_as_files_do) {
    const std::string gz = test_files::gzip("images.idx.gz", images);
    for (const std::string& bytes : {images, gz}) {
        const mg::idx_array from_file = mg::read_idx(test_files::write("same.idx", bytes));
        const mg::idx_array from_memory = mg::read_idx_from_memory(bytes);
        test_files::fifo pipe("images.fifo", bytes);
        const mg::idx_array from_pipe = mg::read_idx(pipe.path());
        BOOST_TEST(from_file.extents == (std::vector<std::uint32_t>{3, 2, 2}));
        BOOST_TEST(from_file.values.size() == 12u);
        BOOST_TEST((from_memory.extents == from_file.extents && from_memory.values == from_file.values));
        BOOST_TEST((from_pipe.extents == from_file.extents && from_pipe.values == from_file.values));
    }
    const auto d = mg::load_idx_from_memory<float, mg::shape<4>>(images, labels, 3);
    BOOST_TEST(d.size() == 3u);
    BOOST_TEST(d.sample(2)[3] == 11.0f);
    // Kept as the bytes they are: the same values, a quarter of the memory.
    const auto kept = mg::load_idx_from_memory<float, mg::shape<4>, std::uint8_t>(images, labels, 3);
    BOOST_TEST(kept.sample(2)[3] == 11u);
    BOOST_TEST(kept.feature(2, 3) == 11.0f);
    BOOST_TEST(kept.labels == d.labels);
    test_files::fifo image_pipe("images2.fifo", gz), label_pipe("labels2.fifo", labels);
    BOOST_TEST((mg::load_idx<float, mg::shape<4>>(image_pipe.path(), label_pipe.path(), 3).features == d.features));

    // gzip members joined (cat a.gz b.gz) read as one stream; bytes after the last are damage.
    BOOST_TEST((mg::read_idx_from_memory(test_files::gzip("a.gz", images.substr(0, 10)) + test_files::gzip("b.gz", images.substr(10))).values ==
                mg::read_idx_from_memory(images).values));
    expect_error([&] { (void)mg::read_idx_from_memory(gz + "junk", "junk.idx.gz"); },
                 {"junk.idx.gz", "decompressing, 28 bytes in", "bytes after the end of the gzip data"});
}

// Issue 12, finding 2: paths that are not regular files.
BOOST_AUTO_TEST_CASE(paths_that_are_not_regular_files) {
    const std::string directory = test_files::path("a-directory.idx");
    ::mkdir(directory.c_str(), 0700);
    expect_error([&] { (void)mg::read_idx(directory); }, {"a-directory.idx", "opening", "a file, a pipe or a device", "found a directory"});
    expect_error([] { (void)mg::read_idx("/dev/null"); }, {"/dev/null", "at byte 0", "magic number", "end of file"});
    test_files::fifo truncated("truncated.fifo", images.substr(0, 20));
    expect_error([&] { (void)mg::read_idx(truncated.path()); }, {"truncated.fifo", "at byte 20", "12 data bytes", "truncated"});
    test_files::fifo cut("cut.fifo", test_files::gzip("cut.gz", images).substr(0, 25));
    expect_error([&] { (void)mg::read_idx(cut.path()); }, {"cut.fifo", "decompressing", "unexpected end of file"});
}

// Issue 12, finding 5: a 1 MB gzip file whose honest header announces 10^9 elements was read into
// gigabytes (std::bad_alloc on a small machine). It is refused at the header, before allocating.
BOOST_AUTO_TEST_CASE(a_small_gzip_file_cannot_demand_gigabytes) {
    BOOST_TEST(mg::max_read_bytes() == mg::default_max_read_bytes);
    BOOST_TEST(mg::default_max_read_bytes == 2147483648u);
    // 1,275,510 images of 28 x 28: 999,999,840 bytes, 4 GB as float; the first 4 MB of them here.
    const std::string header = idx({1275510, 28, 28}, "");
    const std::string gz = test_files::gzip("giga.gz", header + std::string(4u << 20, '\0'));
    BOOST_TEST(gz.size() < 20000u);
    const std::string images_gz = test_files::write("giga-images.idx.gz", gz);
    const std::string labels_path = test_files::write("giga-labels.idx", idx({1275510}, std::string(1275510, '\0')));
    {
        test_allocations::watch allocations;
        expect_error([&] { (void)mg::load_idx<float, mg::shape<784>>(images_gz, labels_path, 10); },
                     {"giga-images.idx.gz", "header", "at most 2147483648 bytes to read", "raise it with metagrad::set_max_read_bytes",
                      "extents 1275510 x 28 x 28 as float: 3999999360 bytes"});
        BOOST_TEST(test_allocations::largest < (1u << 20), "the refused read allocated " << test_allocations::largest << " bytes at once");
    }
    // The limit is the user's: below what a file needs, it is refused; at it, read.
    const std::string small = test_files::write("limited.idx", images);
    {
        test_files::read_limit limit(11);
        expect_error([&] { (void)mg::read_idx(small); }, {"limited.idx", "header", "at most 11 bytes", "extents 3 x 2 x 2 as unsigned bytes: 12 bytes"});
    }
    {
        test_files::read_limit limit(12);
        BOOST_TEST(mg::read_idx(small).values.size() == 12u);
        expect_error([&] { (void)mg::load_idx<float, mg::shape<4>>(small, test_files::write("limited-labels.idx", labels), 3); },
                     {"limited.idx", "at most 12 bytes", "as float: 48 bytes"});
    }
    {
        test_files::read_limit limit(48);
        BOOST_TEST((mg::load_idx<float, mg::shape<4>>(small, test_files::write("limited-labels.idx", labels), 3).size() == 3u));
    }
}

// Issue 12, finding 2: an allocation failure is an io_error naming the file, not std::bad_alloc.
BOOST_AUTO_TEST_CASE(an_allocation_failure_is_an_io_error) {
    const std::string big = test_files::write("big.idx", idx({100, 100, 100}, std::string(1000000, '\1')));
    test_allocations::watch allocations(500000);  // more than the 128 KiB read buffer, less than the data
    expect_error([&] { (void)mg::read_idx(big); },
                 {"big.idx", "header", "memory for the 1000000 bytes its extents announce", "allocation failure (std::bad_alloc)"});
    expect_error([&] { (void)mg::load_idx<double, mg::shape<100, 100>>(big, test_files::write("big-labels.idx", idx({100}, std::string(100, '\0'))), 3); },
                 {"big.idx", "memory for the 8000000 bytes", "allocation failure"});
}
