// metagrad::read_idx and load_idx: the IDX format of MNIST and Fashion-MNIST, plain or gzip.
#pragma once

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include <zlib.h>

#include "metagrad/data/dataset.hpp"
#include "metagrad/io/error.hpp"

namespace metagrad {

/// The contents of an IDX file: element type code, extents (outermost first) and the raw
/// elements (unsigned bytes; other element types are rejected by `read_idx`).
struct idx_array {
    std::vector<std::uint32_t> extents;
    std::vector<std::uint8_t> values;

    std::size_t items() const { return extents.empty() ? 0 : extents[0]; }
    /// Elements per item: the product of every extent but the first.
    std::size_t item_size() const {
        std::size_t n = 1;
        for (std::size_t i = 1; i < extents.size(); ++i) n *= extents[i];
        return n;
    }
};

namespace detail {
/// A file read through zlib, which reads gzip and plain files alike, keeping the offset in the
/// uncompressed stream for error messages.
class gz_reader {
public:
    explicit gz_reader(const std::string& path) : path_(path), file_(gzopen(path.c_str(), "rb"), &gzclose) {
        if (!file_) throw io_error(path, "opening", "a readable file", std::strerror(errno));
        gzbuffer(file_.get(), 1 << 17);
    }

    /// Reads up to `n` bytes; fewer only at the end of the data. A corrupt gzip stream throws.
    std::size_t read(void* into, std::size_t n) {
        std::size_t done = 0;
        while (done < n) {
            const unsigned chunk = static_cast<unsigned>(std::min<std::size_t>(n - done, 1u << 30));
            const int got = gzread(file_.get(), static_cast<char*>(into) + done, chunk);
            if (got < 0 || (got == 0 && !gzeof(file_.get()))) fail();
            if (got == 0) break;
            done += static_cast<std::size_t>(got);
            offset_ += static_cast<std::uint64_t>(got);
        }
        check_stream();
        return done;
    }

    std::uint64_t offset() const { return offset_; }
    const std::string& path() const { return path_; }

private:
    // zlib stops quietly at a truncated or damaged gzip member; ask it whether it did.
    void check_stream() {
        int code = Z_OK;
        const char* message = gzerror(file_.get(), &code);
        if (code != Z_OK && code != Z_STREAM_END) fail(message);
    }
    [[noreturn]] void fail(const char* message = nullptr) {
        int code = Z_OK;
        if (!message) message = gzerror(file_.get(), &code);
        std::string reason = message;
        if (reason.rfind(path_ + ": ", 0) == 0) reason.erase(0, path_.size() + 2);  // zlib prefixes the path
        // zlib reads ahead, so the damage may lie past the bytes handed out so far.
        throw io_error(path_, "decompressing, " + std::to_string(offset_) + " bytes in", "a readable gzip or plain stream",
                       "a damaged one (zlib: " + reason + ")");
    }

    std::string path_;
    std::unique_ptr<std::remove_pointer_t<gzFile>, int (*)(gzFile)> file_;
    std::uint64_t offset_ = 0;
};

inline std::string extents_text(const std::vector<std::uint32_t>& extents) {
    std::string s;
    for (std::size_t i = 0; i < extents.size(); ++i) s += (i ? " x " : "") + std::to_string(extents[i]);
    return s.empty() ? "no extents" : s;
}
}  // namespace detail

/// Reads an IDX file of unsigned bytes (gzip-compressed or not). Throws `io_error`, naming the
/// file and the byte, on a missing file, a bad magic number, an element type other than
/// unsigned byte, a size that overflows, data shorter than its header says, or bytes after it.
inline idx_array read_idx(const std::string& path) {
    detail::gz_reader in(path);
    std::uint8_t magic[4] = {};
    if (in.read(magic, 4) < 4) throw io_error(path, io_error::at_byte(0), "a 4-byte IDX magic number", "end of file");
    if (magic[0] != 0 || magic[1] != 0)
        throw io_error(path, io_error::at_byte(0), "an IDX magic number starting with two zero bytes",
                       "bytes " + std::to_string(magic[0]) + ", " + std::to_string(magic[1]) + " (not an IDX file)");
    if (magic[2] != 0x08)
        throw io_error(path, io_error::at_byte(2), "element type 0x08 (unsigned byte)",
                       "type code " + std::to_string(magic[2]));
    const std::size_t rank = magic[3];
    if (rank == 0) throw io_error(path, io_error::at_byte(3), "at least one extent", "0 extents");

    idx_array out;
    std::uint64_t total = 1;
    for (std::size_t i = 0; i < rank; ++i) {
        std::uint8_t b[4] = {};
        const std::uint64_t at = in.offset();
        if (in.read(b, 4) < 4) throw io_error(path, io_error::at_byte(at), "extent " + std::to_string(i) + " of the header", "end of file");
        const std::uint32_t extent = std::uint32_t(b[0]) << 24 | std::uint32_t(b[1]) << 16 | std::uint32_t(b[2]) << 8 | b[3];
        out.extents.push_back(extent);
        total *= extent;
        // A header claiming more than 2^36 bytes is corrupt, not a data set.
        if (total > (std::uint64_t{1} << 36))
            throw io_error(path, io_error::at_byte(at), "a plausible size", detail::extents_text(out.extents) + " elements");
    }

    // Read in pieces, growing as data arrives: a lying header cannot make us allocate what the
    // file does not hold.
    const std::uint64_t data_start = in.offset();
    constexpr std::size_t piece = std::size_t{1} << 22;
    while (out.values.size() < total) {
        const std::size_t have = out.values.size();
        const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(piece, total - have));
        out.values.resize(have + want);
        const std::size_t got = in.read(out.values.data() + have, want);
        if (got < want)
            throw io_error(path, io_error::at_byte(data_start + have + got),
                           std::to_string(total) + " data bytes for extents " + detail::extents_text(out.extents),
                           "end of file after " + std::to_string(have + got) + " (truncated)");
    }
    std::uint8_t extra = 0;
    if (in.read(&extra, 1) != 0)
        throw io_error(path, io_error::at_byte(in.offset() - 1), "end of file after extents " + detail::extents_text(out.extents),
                       "more bytes (the header's extents do not describe the data)");
    return out;
}

/// Reads an image file and a label file (IDX, plain or gzip) into a data set whose samples
/// have shape `SampleShape` (28 x 28 images fit `shape<784>` or `shape<28, 28>`: what must agree
/// is the number of values per sample). Values are the raw bytes 0..255 as `T`; normalize
/// them with `data/normalize.hpp`. Checks counts, the sample size and each label (< `classes`).
template <class T, class SampleShape>
dataset<T, SampleShape> load_idx(const std::string& images_path, const std::string& labels_path, std::size_t classes) {
    const idx_array images = read_idx(images_path);
    if (images.extents.size() < 2 || images.item_size() != SampleShape::size)
        throw io_error(images_path, "header", "items of " + std::to_string(SampleShape::size) + " values (the network's input)",
                       "extents " + detail::extents_text(images.extents));
    const idx_array labels = read_idx(labels_path);
    if (labels.extents.size() != 1)
        throw io_error(labels_path, "header", "one extent (a label per image)", "extents " + detail::extents_text(labels.extents));
    if (labels.items() != images.items())
        throw io_error(labels_path, "header", std::to_string(images.items()) + " labels, one per image in " + images_path,
                       std::to_string(labels.items()));

    dataset<T, SampleShape> out;
    out.classes = classes;
    out.features.assign(images.values.begin(), images.values.end());
    out.labels.resize(labels.items());
    for (std::size_t i = 0; i < labels.items(); ++i) {
        if (labels.values[i] >= classes)
            throw io_error(labels_path, io_error::at_byte(8 + i), "a class below " + std::to_string(classes),
                           "label " + std::to_string(labels.values[i]));
        out.labels[i] = labels.values[i];
    }
    return out;
}

}  // namespace metagrad
