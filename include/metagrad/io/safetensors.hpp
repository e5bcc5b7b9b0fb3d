// metagrad safetensors: reading and writing the safetensors format, validating every byte.
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "metagrad/core/tensor.hpp"
#include "metagrad/io/error.hpp"
#include "metagrad/io/input_file.hpp"
#include "metagrad/io/read_limit.hpp"
#include "metagrad/io/replace_file.hpp"

namespace metagrad {

/// One tensor of a safetensors file: element type ("F32", "F64", ...), extents, and where its
/// bytes lie in the data area.
struct safetensors_entry {
    std::string dtype;
    std::vector<std::uint64_t> shape;
    std::uint64_t begin = 0, end = 0;
};

namespace detail {
/// Bytes per element of each dtype the format defines; 0 for an unknown one.
inline std::size_t dtype_size(std::string_view dtype) {
    static constexpr std::pair<std::string_view, std::size_t> sizes[] = {
        {"BOOL", 1}, {"U8", 1},  {"I8", 1},   {"F8_E5M2", 1}, {"F8_E4M3", 1}, {"I16", 2}, {"U16", 2}, {"F16", 2},
        {"BF16", 2}, {"I32", 4}, {"U32", 4},  {"F32", 4},     {"I64", 8},     {"U64", 8}, {"F64", 8}};
    for (const auto& [name, size] : sizes)
        if (name == dtype) return size;
    return 0;
}

template <class T>
constexpr std::string_view dtype_of() {
    return sizeof(T) == 4 ? "F32" : "F64";
}

inline std::string shape_text(const std::vector<std::uint64_t>& shape) {
    std::string s = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

/// A strict parser for the header's fixed structure: an object of tensor entries
/// {"dtype": string, "shape": [integers], "data_offsets": [integer, integer]} and an optional
/// "__metadata__" object of strings. Nothing else is accepted, and nesting is bounded by the
/// structure, so a hostile header cannot recurse or allocate without bound.
class header_parser {
public:
    header_parser(const std::string& file, std::string_view text) : file_(file), text_(text) {}

    void parse(std::map<std::string, safetensors_entry>& entries, std::map<std::string, std::string>& metadata) {
        expect('{');
        if (!consume('}')) {
            do {
                const std::size_t at = position_;
                std::string name = string();
                expect(':');
                if (name == "__metadata__") {
                    if (seen_metadata_) fail(at, "one __metadata__ object", "a second one");
                    seen_metadata_ = true;
                    metadata_object(metadata);
                } else {
                    if (entries.count(name)) fail(at, "each tensor named once", "'" + name + "' twice");
                    entries[name] = entry(name);
                }
            } while (consume(','));
            expect('}');
        }
        skip_space();
        if (position_ != text_.size()) fail(position_, "the end of the header (spaces may pad it)", "more text");
    }

private:
    [[noreturn]] void fail(std::size_t at, const std::string& expected, const std::string& found) const {
        throw io_error(file_, "header, at byte " + std::to_string(8 + at), expected, found);
    }
    std::string found_here() const {
        if (position_ >= text_.size()) return "the end of the header";
        // Built piecewise: g++ 12 warns falsely (-Wrestrict, PR 105329) on "'" + std::string(...).
        std::string quoted(1, '\'');
        quoted += text_[position_];
        quoted += '\'';
        return quoted;
    }
    void skip_space() {
        while (position_ < text_.size() &&
               (text_[position_] == ' ' || text_[position_] == '\n' || text_[position_] == '\r' || text_[position_] == '\t'))
            ++position_;
    }
    bool consume(char c) {
        skip_space();
        if (position_ < text_.size() && text_[position_] == c) return ++position_, true;
        return false;
    }
    void expect(char c) {
        if (!consume(c)) fail(position_, std::string("'") + c + "'", found_here());
    }

    std::string string() {
        skip_space();
        if (position_ >= text_.size() || text_[position_] != '"') fail(position_, "a string", found_here());
        ++position_;
        std::string out;
        while (position_ < text_.size() && text_[position_] != '"') {
            char c = text_[position_++];
            if (static_cast<unsigned char>(c) < 0x20) fail(position_ - 1, "a printable character in a string", "a control character");
            if (c == '\\') {
                if (position_ >= text_.size()) break;
                c = text_[position_++];
                switch (c) {
                    case '"': case '\\': case '/': out += c; break;
                    case 'b': out += '\b'; break;
                    case 'f': out += '\f'; break;
                    case 'n': out += '\n'; break;
                    case 'r': out += '\r'; break;
                    case 't': out += '\t'; break;
                    case 'u': out += unicode_escape(); break;
                    default: fail(position_ - 1, "a JSON escape", std::string("'\\") + c + "'");
                }
            } else {
                out += c;
            }
        }
        if (position_ >= text_.size()) fail(position_, "the end of a string", "the end of the header");
        ++position_;
        return out;
    }
    std::string unicode_escape() {
        if (text_.size() - position_ < 4) fail(position_, "four hex digits", "the end of the header");
        unsigned code = 0;
        for (int i = 0; i < 4; ++i) {
            const char h = text_[position_++];
            const int digit = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
            if (digit < 0) fail(position_ - 1, "a hex digit", std::string("'") + h + "'");
            code = code * 16 + static_cast<unsigned>(digit);
        }
        // Names here are ASCII in practice; other code points are kept as UTF-8 (a surrogate
        // half is kept as is: it only has to compare equal to itself).
        std::string out;
        if (code < 0x80) out += static_cast<char>(code);
        else if (code < 0x800) out += static_cast<char>(0xc0 | code >> 6), out += static_cast<char>(0x80 | (code & 0x3f));
        else out += static_cast<char>(0xe0 | code >> 12), out += static_cast<char>(0x80 | (code >> 6 & 0x3f)),
             out += static_cast<char>(0x80 | (code & 0x3f));
        return out;
    }
    std::uint64_t integer() {
        skip_space();
        const std::size_t start = position_;
        std::uint64_t value = 0;
        while (position_ < text_.size() && text_[position_] >= '0' && text_[position_] <= '9') {
            const std::uint64_t digit = static_cast<std::uint64_t>(text_[position_] - '0');
            if (value > (UINT64_MAX - digit) / 10) fail(start, "an integer below 2^64", "a larger one");
            value = value * 10 + digit;
            ++position_;
        }
        if (position_ == start) fail(start, "a non-negative integer", found_here());
        if (position_ < text_.size() && (text_[position_] == '.' || text_[position_] == 'e' || text_[position_] == 'E'))
            fail(start, "an integer", "a fraction or exponent");
        return value;
    }
    std::vector<std::uint64_t> integers() {
        std::vector<std::uint64_t> out;
        expect('[');
        if (consume(']')) return out;
        do {
            if (out.size() == 64) fail(position_, "at most 64 extents", "more");
            out.push_back(integer());
        } while (consume(','));
        expect(']');
        return out;
    }
    void metadata_object(std::map<std::string, std::string>& metadata) {
        expect('{');
        if (consume('}')) return;
        do {
            const std::size_t at = position_;
            std::string key = string();
            expect(':');
            if (metadata.count(key)) fail(at, "each metadata key once", "'" + key + "' twice");
            metadata[key] = string();
        } while (consume(','));
        expect('}');
    }
    safetensors_entry entry(const std::string& name) {
        safetensors_entry e;
        bool dtype = false, shape = false, offsets = false;
        expect('{');
        if (!consume('}')) {
            do {
                const std::size_t at = position_;
                const std::string key = string();
                expect(':');
                bool* seen = key == "dtype" ? &dtype : key == "shape" ? &shape : key == "data_offsets" ? &offsets : nullptr;
                if (!seen) fail(at, "dtype, shape or data_offsets in tensor '" + name + "'", "'" + key + "'");
                if (*seen) fail(at, "each field of tensor '" + name + "' once", "'" + key + "' twice");
                *seen = true;
                if (key == "dtype") {
                    e.dtype = string();
                    if (!dtype_size(e.dtype)) fail(at, "a safetensors dtype for tensor '" + name + "'", "'" + e.dtype + "'");
                } else if (key == "shape") {
                    e.shape = integers();
                } else {
                    const std::vector<std::uint64_t> pair = integers();
                    if (pair.size() != 2) fail(at, "data_offsets [begin, end] for tensor '" + name + "'", std::to_string(pair.size()) + " numbers");
                    e.begin = pair[0], e.end = pair[1];
                }
            } while (consume(','));
            expect('}');
        }
        if (!dtype || !shape || !offsets)
            fail(position_, "dtype, shape and data_offsets for tensor '" + name + "'", std::string("no ") + (!dtype ? "dtype" : !shape ? "shape" : "data_offsets"));
        return e;
    }

    const std::string& file_;
    std::string_view text_;
    std::size_t position_ = 0;
    bool seen_metadata_ = false;
};

inline std::string json_string(std::string_view s) {
    std::string out = "\"";
    for (const char c : s) {
        if (c == '"' || c == '\\') out += '\\', out += c;
        else if (static_cast<unsigned char>(c) < 0x20) {
            char escape[8];
            std::snprintf(escape, sizeof escape, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
            out += escape;
        } else out += c;
    }
    return out + "\"";
}
}  // namespace detail

/// A safetensors file read into memory and validated: the header is well-formed JSON of the
/// format's structure, every dtype is known, every tensor's byte count matches its shape, and
/// the tensors tile the data area exactly (no overlap, no gap, nothing out of range).
/// Every failure throws `io_error` naming the file, the place and the tensor.
class safetensors_file {
public:
    /// Headers above this size are refused before anything is allocated for them.
    static constexpr std::uint64_t max_header_bytes = 100u << 20;

    /// Reads the file at `path` to its end (a regular file, a pipe or a device; a directory is
    /// refused), at most `max_read_bytes()` of it, and validates it.
    static safetensors_file read(const std::string& path) {
        return detail::reporting_allocation_failure(path, [&] {
            detail::input_file in(path);
            return from_bytes(in.read_to_end(), path);
        });
    }

    /// Validates a file's contents held in memory; `name` stands for the file in error messages.
    static safetensors_file from_bytes(std::string bytes, std::string name = "<memory>") {
        return detail::reporting_allocation_failure(name, [&] {
            safetensors_file f;
            f.path_ = std::move(name);
            f.bytes_ = std::move(bytes);
            f.parse();
            return f;
        });
    }

    const std::map<std::string, safetensors_entry>& entries() const { return entries_; }
    const std::map<std::string, std::string>& metadata() const { return metadata_; }
    const std::string& path() const { return path_; }
    bool contains(const std::string& name) const { return entries_.count(name) != 0; }

    /// A metadata value, or an error naming the missing key.
    const std::string& metadata(const std::string& key) const {
        const auto it = metadata_.find(key);
        if (it == metadata_.end()) throw io_error(path_, "__metadata__", "the key '" + key + "'", "none");
        return it->second;
    }

    /// Copies tensor `name` into `out`, which must have its dtype (F32 for float, F64 for double)
    /// and its shape, extent by extent.
    template <class T, class S>
    void copy_to(const std::string& name, tensor<T, S>& out) const {
        const auto it = entries_.find(name);
        if (it == entries_.end()) throw io_error(path_, "header", "a tensor named '" + name + "'", "none");
        const safetensors_entry& e = it->second;
        if (e.dtype != detail::dtype_of<T>())
            throw io_error(path_, "tensor '" + name + "'", std::string("dtype ") + std::string(detail::dtype_of<T>()), e.dtype);
        const std::vector<std::uint64_t> want(S::extents.begin(), S::extents.end());
        if (e.shape != want)
            throw io_error(path_, "tensor '" + name + "'", "shape " + detail::shape_text(want), "shape " + detail::shape_text(e.shape));
        std::memcpy(out.data.data(), bytes_.data() + data_start_ + e.begin, sizeof(T) * S::size);
        if constexpr (std::endian::native == std::endian::big)
            for (T& x : out.data) {
                auto* bytes = reinterpret_cast<unsigned char*>(&x);
                std::reverse(bytes, bytes + sizeof(T));
            }
    }

private:
    void parse() {
        const std::uint64_t size = bytes_.size();
        if (size < 8) throw io_error(path_, io_error::at_byte(0), "an 8-byte header length", std::to_string(size) + " bytes in all");
        std::uint64_t header_length = 0;
        for (int i = 7; i >= 0; --i) header_length = header_length << 8 | static_cast<unsigned char>(bytes_[static_cast<std::size_t>(i)]);
        if (header_length > max_header_bytes || header_length > size - 8)
            throw io_error(path_, io_error::at_byte(0),
                           "a header length within the file's " + std::to_string(size - 8) + " remaining bytes (and at most 100 MiB)",
                           std::to_string(header_length));
        if (header_length < 2) throw io_error(path_, io_error::at_byte(0), "a header of at least '{}'", std::to_string(header_length) + " bytes");
        data_start_ = 8 + static_cast<std::size_t>(header_length);
        detail::header_parser(path_, std::string_view(bytes_).substr(8, static_cast<std::size_t>(header_length))).parse(entries_, metadata_);
        check_layout();
    }
    std::uint64_t data_size() const { return bytes_.size() - data_start_; }

    void check_layout() const {
        std::vector<std::pair<const std::string*, const safetensors_entry*>> by_offset;
        for (const auto& [name, e] : entries_) {
            std::uint64_t count = 1;
            for (const std::uint64_t extent : e.shape) {
                if (extent && count > UINT64_MAX / extent)
                    throw io_error(path_, "tensor '" + name + "'", "a shape whose size fits in 64 bits", "shape " + detail::shape_text(e.shape));
                count *= extent;
            }
            const std::uint64_t bytes_per = detail::dtype_size(e.dtype);
            if (e.end < e.begin)
                throw io_error(path_, "tensor '" + name + "'", "data_offsets with begin <= end",
                               "[" + std::to_string(e.begin) + ", " + std::to_string(e.end) + "]");
            if (count > UINT64_MAX / bytes_per || e.end - e.begin != count * bytes_per)
                throw io_error(path_, "tensor '" + name + "'",
                               "data_offsets spanning " + std::to_string(count) + " x " + std::to_string(bytes_per) + " bytes for shape " +
                                   detail::shape_text(e.shape) + " " + e.dtype,
                               std::to_string(e.end - e.begin) + " bytes");
            if (e.end > data_size())
                throw io_error(path_, "tensor '" + name + "'", "data_offsets within the " + std::to_string(data_size()) + "-byte data area",
                               "[" + std::to_string(e.begin) + ", " + std::to_string(e.end) + "]");
            by_offset.push_back({&name, &e});
        }
        std::sort(by_offset.begin(), by_offset.end(), [](const auto& a, const auto& b) {
            return a.second->begin != b.second->begin ? a.second->begin < b.second->begin : a.second->end < b.second->end;
        });
        std::uint64_t covered = 0;
        const std::string* previous = nullptr;
        for (const auto& [name, e] : by_offset) {
            if (e->begin < covered)
                throw io_error(path_, "tensor '" + *name + "'", "data that no other tensor uses",
                               "bytes [" + std::to_string(e->begin) + ", " + std::to_string(e->end) + ") overlapping tensor '" + *previous + "'");
            if (e->begin > covered)
                throw io_error(path_, "tensor '" + *name + "'", "data starting at byte " + std::to_string(covered) + " of the data area",
                               "a gap: it starts at " + std::to_string(e->begin));
            covered = e->end;
            previous = name;
        }
        if (covered != data_size())
            throw io_error(path_, "data area", std::to_string(covered) + " bytes, as the header describes",
                           std::to_string(data_size()) + " bytes");
    }

    std::string path_;
    std::map<std::string, safetensors_entry> entries_;
    std::map<std::string, std::string> metadata_;
    std::string bytes_;  // the whole file; the data area starts at data_start_
    std::size_t data_start_ = 0;
};

/// Builds a safetensors file: tensors in the order added, then metadata; `write` lays them out
/// contiguously after a header padded to 8 bytes, as the reference implementation does.
class safetensors_writer {
public:
    template <class T, class S>
    void add(const std::string& name, const tensor<T, S>& t) {
        safetensors_entry e;
        e.dtype = std::string(detail::dtype_of<T>());
        e.shape.assign(S::extents.begin(), S::extents.end());
        e.begin = data_.size();
        const std::size_t at = data_.size();
        data_.resize(at + sizeof(T) * S::size);
        std::memcpy(data_.data() + at, t.data.data(), sizeof(T) * S::size);
        if constexpr (std::endian::native == std::endian::big)
            for (std::size_t i = 0; i < S::size; ++i) std::reverse(data_.data() + at + i * sizeof(T), data_.data() + at + (i + 1) * sizeof(T));
        e.end = data_.size();
        names_.push_back(name);
        entries_.push_back(e);
    }
    void set_metadata(const std::string& key, const std::string& value) { metadata_[key] = value; }

    void write(const std::string& path) const {
        std::string header = "{";
        if (!metadata_.empty()) {
            header += "\"__metadata__\":{";
            bool first = true;
            for (const auto& [key, value] : metadata_) {
                header += (first ? "" : ",") + detail::json_string(key) + ":" + detail::json_string(value);
                first = false;
            }
            header += "}";
        }
        // Appended piece by piece: g++ 12 warns falsely (-Wrestrict, PR 105329) on
        // "literal" + std::string temporaries.
        for (std::size_t i = 0; i < entries_.size(); ++i) {
            const safetensors_entry& e = entries_[i];
            if (i || !metadata_.empty()) header += ',';
            header += detail::json_string(names_[i]);
            header += ":{\"dtype\":\"";
            header += e.dtype;
            header += "\",\"shape\":";
            header += detail::shape_text(e.shape);
            header += ",\"data_offsets\":[";
            header += std::to_string(e.begin);
            header += ',';
            header += std::to_string(e.end);
            header += "]}";
        }
        header += "}";
        header.append((8 - header.size() % 8) % 8, ' ');
        unsigned char length[8];
        for (int i = 0; i < 8; ++i) length[i] = static_cast<unsigned char>(static_cast<std::uint64_t>(header.size()) >> (8 * i));
        // Written to a temporary name, synced and renamed, so that an interrupted save (power
        // loss included) never leaves a half-written checkpoint where a good one was.
        detail::replace_file(path, {std::string_view(reinterpret_cast<const char*>(length), 8), header,
                                    std::string_view(reinterpret_cast<const char*>(data_.data()), data_.size())});
    }

private:
    std::vector<std::string> names_;
    std::vector<safetensors_entry> entries_;
    std::map<std::string, std::string> metadata_;
    std::vector<unsigned char> data_;
};

}  // namespace metagrad
