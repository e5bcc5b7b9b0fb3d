// metagrad::read_idx and load_idx: the IDX format of MNIST and Fashion-MNIST, plain or gzip.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include <zlib.h>

#include "metagrad/data/dataset.hpp"
#include "metagrad/io/error.hpp"
#include "metagrad/io/input_file.hpp"
#include "metagrad/io/read_limit.hpp"

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

/// Which samples of a file `load_idx` keeps: [first, last), all by default. A rank of
/// data-parallel training keeps only its shards this way.
struct sample_range {
    std::size_t first = 0;
    std::size_t last = std::numeric_limits<std::size_t>::max();
};

namespace detail {
/// The bytes of `Source` (an `input_file` or `memory_bytes`), inflated when they are gzip (one
/// member or several, as `gzip` writes and `cat` joins them) and passed through when they are
/// not, counting the offset in the uncompressed stream for error messages. zlib's own file
/// functions are not used: they leave reads and seeks of pipes and devices unchecked, and cannot
/// read from memory.
template <class Source>
class uncompressed_stream {
public:
    uncompressed_stream(Source& source, const std::string& name) : source_(source), name_(name) {
        pending_ = source_.next_chunk();  // a file's first chunk is short only at its end
        gzip_ = pending_.size() >= 2 && static_cast<unsigned char>(pending_[0]) == 0x1f && static_cast<unsigned char>(pending_[1]) == 0x8b;
        if (gzip_) {
            stream_.zalloc = Z_NULL, stream_.zfree = Z_NULL, stream_.opaque = Z_NULL;
            stream_.next_in = Z_NULL, stream_.avail_in = 0;
            const int code = inflateInit2(&stream_, 16 + MAX_WBITS);  // 16: gzip framing, checked CRC and length
            if (code == Z_MEM_ERROR) throw std::bad_alloc();
            if (code != Z_OK) fail("zlib could not start (" + std::to_string(code) + ")");
        }
    }
    uncompressed_stream(const uncompressed_stream&) = delete;
    uncompressed_stream& operator=(const uncompressed_stream&) = delete;
    ~uncompressed_stream() {
        if (gzip_) inflateEnd(&stream_);
    }

    /// Reads up to `n` bytes; fewer only at the end of the data. Damaged gzip data throws.
    std::size_t read(void* into, std::size_t n) {
        auto* out = static_cast<unsigned char*>(into);
        std::size_t done = 0;
        while (done < n) {
            if (pending_.empty()) pending_ = source_.next_chunk();
            if (!gzip_) {
                if (pending_.empty()) break;
                const std::size_t take = std::min(n - done, pending_.size());
                std::memcpy(out + done, pending_.data(), take);
                pending_.remove_prefix(take);
                done += take;
                offset_ += take;
                continue;
            }
            if (member_ended_) {
                if (pending_.empty()) break;  // the end of the last member
                // Another member must follow, as `cat a.gz b.gz` makes; anything else is damage.
                if (static_cast<unsigned char>(pending_[0]) != 0x1f) fail("bytes after the end of the gzip data");
                if (inflateReset(&stream_) != Z_OK) fail("zlib could not start the next gzip member");
                member_ended_ = false;
            }
            if (pending_.empty()) fail("unexpected end of file");  // within a member
            const std::size_t want = std::min<std::size_t>(n - done, 1u << 30);
            stream_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(pending_.data()));
            stream_.avail_in = static_cast<uInt>(std::min<std::size_t>(pending_.size(), 1u << 30));
            stream_.next_out = out + done;
            stream_.avail_out = static_cast<uInt>(want);
            const int code = inflate(&stream_, Z_NO_FLUSH);
            const std::size_t consumed = static_cast<std::size_t>(reinterpret_cast<const char*>(stream_.next_in) - pending_.data());
            const std::size_t produced = want - stream_.avail_out;
            pending_.remove_prefix(consumed);
            done += produced;
            offset_ += produced;
            if (code == Z_STREAM_END) member_ended_ = true;
            else if (code == Z_MEM_ERROR) throw std::bad_alloc();
            else if (code != Z_OK) fail(stream_.msg ? stream_.msg : "inflate error " + std::to_string(code));
        }
        return done;
    }

    std::uint64_t offset() const { return offset_; }

private:
    [[noreturn]] void fail(const std::string& reason) const {
        // zlib reads ahead, so the damage may lie past the bytes handed out so far.
        throw io_error(name_, "decompressing, " + std::to_string(offset_) + " bytes in", "a readable gzip or plain stream",
                       "a damaged one (zlib: " + reason + ")");
    }

    Source& source_;
    const std::string& name_;
    std::string_view pending_;
    bool gzip_ = false, member_ended_ = false;
    z_stream stream_{};
    std::uint64_t offset_ = 0;
};

inline std::string extents_text(const std::vector<std::uint32_t>& extents) {
    std::string s;
    for (std::size_t i = 0; i < extents.size(); ++i) s += (i ? " x " : "") + std::to_string(extents[i]);
    return s.empty() ? "no extents" : s;
}

/// An IDX stream read in two steps: the header when constructed (extents and element count,
/// checked), then the data, in pieces, by `read_data`. Callers check the size against
/// `max_read_bytes()` in between, before they allocate.
template <class Source>
class idx_reader {
public:
    idx_reader(Source& source, const std::string& name) : name_(name), in_(source, name) {
        std::uint8_t magic[4] = {};
        if (in_.read(magic, 4) < 4) throw io_error(name_, io_error::at_byte(0), "a 4-byte IDX magic number", "end of file");
        if (magic[0] != 0 || magic[1] != 0)
            throw io_error(name_, io_error::at_byte(0), "an IDX magic number starting with two zero bytes",
                           "bytes " + std::to_string(magic[0]) + ", " + std::to_string(magic[1]) + " (not an IDX file)");
        if (magic[2] != 0x08)
            throw io_error(name_, io_error::at_byte(2), "element type 0x08 (unsigned byte)", "type code " + std::to_string(magic[2]));
        const std::size_t rank = magic[3];
        if (rank == 0) throw io_error(name_, io_error::at_byte(3), "at least one extent", "0 extents");
        elements_ = 1;
        for (std::size_t i = 0; i < rank; ++i) {
            std::uint8_t b[4] = {};
            const std::uint64_t at = in_.offset();
            if (in_.read(b, 4) < 4)
                throw io_error(name_, io_error::at_byte(at), "extent " + std::to_string(i) + " of the header", "end of file");
            const std::uint32_t extent = std::uint32_t(b[0]) << 24 | std::uint32_t(b[1]) << 16 | std::uint32_t(b[2]) << 8 | b[3];
            extents_.push_back(extent);
            elements_ = saturating_product(elements_, extent);
        }
        // Saturation is sticky except through a zero extent, which truly makes the product 0.
        if (std::find(extents_.begin(), extents_.end(), 0u) != extents_.end()) elements_ = 0;
    }

    const std::vector<std::uint32_t>& extents() const { return extents_; }
    /// The product of the extents, UINT64_MAX if it passes 2^64.
    std::uint64_t elements() const { return elements_; }

    /// Refuses the data unless `elements() x bytes_per_element` fits `max_read_bytes()`.
    void check_size(std::size_t bytes_per_element, const std::string& as) const {
        check_read_limit(name_, "header", saturating_product(elements_, bytes_per_element),
                         "extents " + extents_text(extents_) + (elements_ == UINT64_MAX ? " (more than 2^64 elements)" : "") + " as " + as);
    }

    /// Passes the data to `take(const std::uint8_t*, n)` in pieces, then checks that the stream
    /// ends there.
    template <class Take>
    void read_data(Take&& take) {
        const std::uint64_t data_start = in_.offset();
        std::vector<std::uint8_t> piece(static_cast<std::size_t>(std::min<std::uint64_t>(elements_, std::uint64_t{1} << 16)));
        std::uint64_t have = 0;
        while (have < elements_) {
            const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(piece.size(), elements_ - have));
            const std::size_t got = in_.read(piece.data(), want);
            take(piece.data(), got);
            have += got;
            if (got < want)
                throw io_error(name_, io_error::at_byte(data_start + have),
                               std::to_string(elements_) + " data bytes for extents " + extents_text(extents_),
                               "end of file after " + std::to_string(have) + " (truncated)");
        }
        std::uint8_t extra = 0;
        if (in_.read(&extra, 1) != 0)
            throw io_error(name_, io_error::at_byte(in_.offset() - 1), "end of file after extents " + extents_text(extents_),
                           "more bytes (the header's extents do not describe the data)");
    }

private:
    const std::string& name_;
    uncompressed_stream<Source> in_;
    std::vector<std::uint32_t> extents_;
    std::uint64_t elements_ = 0;
};

/// Reserves room for `n` elements in `v`, reporting a failure as the header's fault: the
/// size passed `max_read_bytes()`, but the system could not give it.
template <class V>
void reserve_for_header(V& v, std::uint64_t n, const std::string& name) {
    try {
        v.reserve(static_cast<std::size_t>(n));
    } catch (const std::bad_alloc&) {
        throw io_error(name, "header", "memory for the " + std::to_string(n * sizeof(typename V::value_type)) + " bytes its extents announce",
                       "an allocation failure (std::bad_alloc): too little memory free, or a corrupt header");
    }
}

template <class Source>
idx_array read_idx(Source& source, const std::string& name) {
    return reporting_allocation_failure(name, [&] {
        idx_reader<Source> in(source, name);
        in.check_size(1, "unsigned bytes");
        idx_array out;
        out.extents = in.extents();
        reserve_for_header(out.values, in.elements(), name);
        in.read_data([&](const std::uint8_t* bytes, std::size_t n) { out.values.insert(out.values.end(), bytes, bytes + n); });
        return out;
    });
}

template <class T, class SampleShape, class Stored, class Source>
dataset<T, SampleShape, class_label, Stored> load_idx(Source& images_source, const std::string& images_name, Source& labels_source,
                                                      const std::string& labels_name, std::size_t classes, sample_range range = {}) {
    dataset<T, SampleShape, class_label, Stored> out;
    out.classes = classes;
    std::size_t items = 0, first = 0, last = 0;
    reporting_allocation_failure(images_name, [&] {
        idx_reader<Source> images(images_source, images_name);
        const std::vector<std::uint32_t>& extents = images.extents();
        std::uint64_t item_size = 1;
        for (std::size_t i = 1; i < extents.size(); ++i) item_size = saturating_product(item_size, extents[i]);
        if (extents.size() < 2 || item_size != SampleShape::size)
            throw io_error(images_name, "header", "items of " + std::to_string(SampleShape::size) + " values (the network's input)",
                           "extents " + extents_text(extents));
        items = extents[0];
        if (range.first > range.last || (range.last != sample_range{}.last && range.last > items))
            throw io_error(images_name, "header",
                           "the samples asked for, [" + std::to_string(range.first) + ", " +
                               (range.last == sample_range{}.last ? std::string("end") : std::to_string(range.last)) + ")",
                           std::to_string(items) + " images");
        first = range.first, last = std::min<std::size_t>(range.last, items);
        const std::uint64_t kept = static_cast<std::uint64_t>(last - first) * SampleShape::size;
        check_read_limit(images_name, "header", saturating_product(kept, sizeof(Stored)),
                         std::to_string(last - first) + " images of extents " + extents_text(extents) + " as " +
                             (sizeof(Stored) == 1   ? "unsigned bytes"
                              : sizeof(Stored) == 4 ? "float"
                              : sizeof(Stored) == 8 ? "double"
                                                    : std::to_string(sizeof(Stored)) + "-byte values"));
        reserve_for_header(out.features, kept, images_name);
        // The whole stream is read (a gzip file cannot be entered in the middle); only the samples
        // asked for are kept.
        const std::uint64_t keep_from = static_cast<std::uint64_t>(first) * SampleShape::size, keep_to = keep_from + kept;
        std::uint64_t at = 0;
        images.read_data([&](const std::uint8_t* bytes, std::size_t n) {
            const std::uint64_t from = std::max(at, keep_from), to = std::min(at + n, keep_to);
            if (from < to) out.features.insert(out.features.end(), bytes + (from - at), bytes + (to - at));
            at += n;
        });
    });
    reporting_allocation_failure(labels_name, [&] {
        idx_reader<Source> labels(labels_source, labels_name);
        if (labels.extents().size() != 1)
            throw io_error(labels_name, "header", "one extent (a label per image)", "extents " + extents_text(labels.extents()));
        if (labels.elements() != items)
            throw io_error(labels_name, "header", std::to_string(items) + " labels, one per image in " + images_name,
                           std::to_string(labels.elements()));
        labels.check_size(sizeof(std::uint32_t), "32-bit labels");
        reserve_for_header(out.labels, last - first, labels_name);
        std::size_t index = 0;
        labels.read_data([&](const std::uint8_t* bytes, std::size_t n) {
            for (std::size_t i = 0; i < n; ++i, ++index) {
                if (bytes[i] >= classes)
                    throw io_error(labels_name, io_error::at_byte(8 + index), "a class below " + std::to_string(classes),
                                   "label " + std::to_string(bytes[i]));
                if (index >= first && index < last) out.labels.push_back(bytes[i]);
            }
        });
    });
    return out;
}
}  // namespace detail

/// Reads an IDX file of unsigned bytes (gzip-compressed or not; a regular file, a pipe or a
/// device, read to its end). Throws `io_error`, naming the file and the byte, on a missing file,
/// a directory, a bad magic number, an element type other than unsigned byte, data larger than
/// `max_read_bytes()` (checked before allocating), data shorter than its header says, or bytes
/// after it.
inline idx_array read_idx(const std::string& path) {
    return detail::reporting_allocation_failure(path, [&] {
        detail::input_file file(path);
        return detail::read_idx(file, path);
    });
}

/// `read_idx` of bytes in memory (a file's contents, plain or gzip); `name` stands for the file in
/// error messages.
inline idx_array read_idx_from_memory(std::string_view bytes, const std::string& name = "<memory>") {
    detail::memory_bytes source(bytes);
    return detail::read_idx(source, name);
}

/// Reads an image file and a label file (IDX, plain or gzip) into a data set whose samples
/// have shape `SampleShape` (28 x 28 images fit `shape<784>` or `shape<28, 28>`: what must agree
/// is the number of values per sample). Values are the raw bytes 0..255 as `Stored`: `T` by
/// default, or kept as they came (`load_idx<float, shape<784>, std::uint8_t>`: a quarter of the
/// memory, converted to `T` batch by batch); normalize them with `data/normalize.hpp`. Checks
/// counts, the sample size and each label (< `classes`), and the data set's size in memory
/// (`max_read_bytes()`) before allocating it. With `range`, keeps only samples [first, last)
/// (the whole file is still read and checked: gzip cannot be entered in the middle).
template <class T, class SampleShape, class Stored = T>
dataset<T, SampleShape, class_label, Stored> load_idx(const std::string& images_path, const std::string& labels_path, std::size_t classes,
                                                      sample_range range = {}) {
    auto images = detail::reporting_allocation_failure(images_path, [&] { return std::make_unique<detail::input_file>(images_path); });
    auto labels = detail::reporting_allocation_failure(labels_path, [&] { return std::make_unique<detail::input_file>(labels_path); });
    return detail::load_idx<T, SampleShape, Stored>(*images, images_path, *labels, labels_path, classes, range);
}

/// The extents in an IDX file's header, read alone (`idx_extents(path)[0]` is its item count):
/// what a program asks before choosing the `sample_range` to load.
inline std::vector<std::uint32_t> idx_extents(const std::string& path) {
    return detail::reporting_allocation_failure(path, [&] {
        detail::input_file file(path);
        return detail::idx_reader<detail::input_file>(file, path).extents();
    });
}

/// `load_idx` of two files' contents in memory; the names stand for the files in error messages.
template <class T, class SampleShape, class Stored = T>
dataset<T, SampleShape, class_label, Stored> load_idx_from_memory(std::string_view images, std::string_view labels, std::size_t classes,
                                             const std::string& images_name = "<images>", const std::string& labels_name = "<labels>") {
    detail::memory_bytes image_source(images), label_source(labels);
    return detail::load_idx<T, SampleShape, Stored>(image_source, images_name, label_source, labels_name, classes);
}

}  // namespace metagrad
