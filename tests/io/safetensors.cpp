// Tests of include/metagrad/io/safetensors.hpp and checkpoint.hpp: round trips, a model written
// by PyTorch (tests/fixtures) reproducing PyTorch's outputs, and a clear error for every
// malformed or hostile file tried.
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>

#include "allocations.hpp"
#include "files.hpp"
#include "metagrad/metagrad.hpp"

namespace mg = metagrad;
using test_files::expect_error;

using mlp = mg::sequential<mg::dense<4, 8>, mg::relu, mg::dense<3>>;

BOOST_AUTO_TEST_CASE(a_pytorch_model_reproduces_its_outputs) {
    // Weights from torch.nn.Sequential(Linear(4, 8), ReLU(), Linear(8, 3)).state_dict(), written
    // by a struct-based writer in Python; inputs and PyTorch's outputs beside them.
    mlp::parameters<float> p;
    mg::load_parameters(METAGRAD_FIXTURES "/torch_mlp.safetensors", p);
    const auto io = mg::safetensors_file::read(METAGRAD_FIXTURES "/torch_mlp_io.safetensors");
    mg::tensor<float, mg::shape<5, 4>> x;
    mg::tensor<float, mg::shape<5, 3>> y;
    io.copy_to("x", x);
    io.copy_to("y", y);
    const auto out = mlp::forward(p, x);
    for (std::size_t i = 0; i < y.size; ++i) BOOST_TEST(out[i] == y[i], boost::test_tools::tolerance(1e-5f));
}

BOOST_AUTO_TEST_CASE(parameters_round_trip_bit_for_bit) {
    mlp::parameters<double> p, q;
    mg::random_generator g(1);
    mg::initialize(p, mg::glorot_normal{}, g);
    const std::string path = test_files::path("round-trip.safetensors");
    mg::save_parameters(path, p);
    mg::load_parameters(path, q);
    BOOST_TEST((p == q));
    // The file is in the layout the format specifies: 8-byte length, header padded to 8 bytes.
    const std::string bytes = test_files::read(path);
    std::uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = n << 8 | static_cast<unsigned char>(bytes[static_cast<std::size_t>(i)]);
    BOOST_TEST(n % 8 == 0u);
    BOOST_TEST(bytes.size() == 8 + n + mlp::parameters<double>::count * sizeof(double));
}

namespace {
/// A file with the given header text and `data` bytes after it.
std::string with_header(const std::string& name, const std::string& header, const std::string& data) {
    std::string bytes;
    for (int i = 0; i < 8; ++i) bytes += static_cast<char>(static_cast<std::uint64_t>(header.size()) >> (8 * i));
    return test_files::write(name, bytes + header + data);
}
std::string entry(const std::string& name, const std::string& dtype, const std::string& shape, std::size_t begin, std::size_t end) {
    return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":[" + std::to_string(begin) +
           "," + std::to_string(end) + "]}";
}
// The tensors of sequential<dense<2, 1>>: weight 1 x 2 and bias 1, in F32 (12 bytes).
const std::string weight = entry("0.weight", "F32", "[1,2]", 0, 8), bias = entry("0.bias", "F32", "[1]", 8, 12);
const std::string data(12, '\0');
using small = mg::sequential<mg::dense<2, 1>>;
auto load(const std::string& path) {
    return [path] {
        small::parameters<float> p;
        mg::load_parameters(path, p);
    };
}
}  // namespace

BOOST_AUTO_TEST_CASE(a_well_formed_file_loads) {
    small::parameters<float> p;
    BOOST_CHECK_NO_THROW(mg::load_parameters(with_header("fine.st", "{" + weight + "," + bias + "}", data), p));
    BOOST_CHECK_NO_THROW(mg::load_parameters(with_header("spaces.st", " { " + bias + " , " + weight + " }    ", data), p));
}

BOOST_AUTO_TEST_CASE(hostile_files_are_rejected_with_a_clear_message) {
    const std::string good = "{" + weight + "," + bias + "}";
    expect_error(load(test_files::path("absent.st")), {"absent.st", "opening"});
    expect_error(load(test_files::write("tiny.st", "abc")), {"tiny.st", "8-byte header length", "3 bytes"});
    {
        std::string huge(8, '\xff');
        expect_error(load(test_files::write("length.st", huge + "{}")), {"length.st", "header length within", "18446744073709551615"});
    }
    {
        std::string longer(8, '\0');
        longer[1] = 0x10;  // 4096, more than the file holds
        expect_error(load(test_files::write("long.st", longer + good)), {"long.st", "header length within"});
    }
    expect_error(load(with_header("not-json.st", "hello", data)), {"not-json.st", "header, at byte 8", "'{'", "'h'"});
    expect_error(load(with_header("unclosed.st", "{" + weight, data)), {"unclosed.st", "'}'"});
    expect_error(load(with_header("trailing.st", good + "x", data)), {"trailing.st", "end of the header", "more text"});
    expect_error(load(with_header("twice.st", "{" + weight + "," + weight + "," + bias + "}", data)), {"twice.st", "'0.weight' twice"});
    expect_error(load(with_header("dtype.st", "{" + entry("0.weight", "F33", "[1,2]", 0, 8) + "," + bias + "}", data)),
                 {"dtype.st", "a safetensors dtype", "'F33'"});
    expect_error(load(with_header("field.st", "{\"0.weight\":{\"dtype\":\"F32\",\"shape\":[1,2],\"offsets\":[0,8]}," + bias + "}", data)),
                 {"field.st", "dtype, shape or data_offsets", "'offsets'"});
    expect_error(load(with_header("missing-field.st", "{\"0.weight\":{\"dtype\":\"F32\",\"shape\":[1,2]}," + bias + "}", data)),
                 {"missing-field.st", "no data_offsets"});
    expect_error(load(with_header("negative.st", "{" + entry("0.weight", "F32", "[1,-2]", 0, 8) + "," + bias + "}", data)),
                 {"negative.st", "non-negative integer", "'-'"});
    expect_error(load(with_header("float.st", "{" + entry("0.weight", "F32", "[1,2.5]", 0, 8) + "," + bias + "}", data)),
                 {"float.st", "an integer", "fraction"});
    expect_error(load(with_header("big-number.st", "{" + entry("0.weight", "F32", "[1,99999999999999999999]", 0, 8) + "," + bias + "}", data)),
                 {"big-number.st", "below 2^64"});
    expect_error(load(with_header("overflow.st", "{" + entry("0.weight", "F32", "[4294967296,4294967296]", 0, 8) + "," + bias + "}", data)),
                 {"overflow.st", "fits in 64 bits"});
    expect_error(load(with_header("count.st", "{" + entry("0.weight", "F32", "[1,2]", 0, 4) + "," + entry("0.bias", "F32", "[1]", 4, 8) + "}", std::string(8, '\0'))),
                 {"count.st", "tensor '0.weight'", "spanning 2 x 4 bytes", "found 4 bytes"});
    expect_error(load(with_header("reversed.st", "{" + entry("0.weight", "F32", "[1,2]", 8, 0) + "," + bias + "}", data)),
                 {"reversed.st", "begin <= end"});
    expect_error(load(with_header("outside.st", "{" + weight + "," + entry("0.bias", "F32", "[1]", 8, 12) + "}", std::string(10, '\0'))),
                 {"outside.st", "tensor '0.bias'", "within the 10-byte data area"});
    expect_error(load(with_header("overlap.st", "{" + weight + "," + entry("0.bias", "F32", "[1]", 4, 8) + "}", std::string(8, '\0'))),
                 {"overlap.st", "tensor '0.bias'", "overlapping tensor '0.weight'"});
    expect_error(load(with_header("gap.st", "{" + weight + "," + entry("0.bias", "F32", "[1]", 12, 16) + "}", std::string(16, '\0'))),
                 {"gap.st", "tensor '0.bias'", "a gap"});
    expect_error(load(with_header("leftover.st", good, std::string(20, '\0'))), {"leftover.st", "data area", "12 bytes", "found 20"});
    expect_error(load(with_header("f64.st", "{" + entry("0.weight", "F64", "[1,2]", 0, 16) + "," + entry("0.bias", "F32", "[1]", 16, 20) + "}",
                                  std::string(20, '\0'))),
                 {"f64.st", "tensor '0.weight'", "dtype F32", "found F64"});
    expect_error(load(with_header("shape.st", "{" + entry("0.weight", "F32", "[2,1]", 0, 8) + "," + bias + "}", data)),
                 {"shape.st", "tensor '0.weight'", "shape [1, 2]", "found shape [2, 1]"});
    expect_error(load(with_header("absent-tensor.st", "{" + weight + "}", std::string(8, '\0'))), {"absent-tensor.st", "'0.bias'", "none"});
    expect_error(load(with_header("extra.st", "{" + weight + "," + bias + "," + entry("9.weight", "F32", "[1]", 12, 16) + "}", std::string(16, '\0'))),
                 {"extra.st", "tensor '9.weight'", "the network does not have"});
    expect_error(load(with_header("control.st", "{\"0.we\night\":{}}", data)), {"control.st", "control character"});
    expect_error(load(with_header("escape.st", "{\"\\q\":{}}", data)), {"escape.st", "a JSON escape"});
    expect_error(load(with_header("deep.st", "{\"a\":" + std::string(10000, '[') + "}", data)), {"deep.st", "'{'", "'['"});
    expect_error(load(with_header("metadata.st", "{\"__metadata__\":{\"a\":1}," + weight + "," + bias + "}", data)),
                 {"metadata.st", "a string", "'1'"});

    // A file that fails leaves the parameters as they were.
    small::parameters<float> p;
    p.layer<0>().bias[0] = 42;
    try {
        mg::load_parameters(with_header("half.st", "{" + weight + "," + entry("0.bias", "F64", "[1]", 8, 16) + "}", std::string(16, '\1')), p);
    } catch (const mg::io_error&) {
    }
    BOOST_TEST(p.layer<0>().bias[0] == 42.0f);
    BOOST_TEST(p.layer<0>().weight[0] == 0.0f);
}

// Issue 12, finding 2: safetensors_file::read took 8 uninitialised bytes as the header length for
// a path that is not a regular file (the size query, the seek and the read went unchecked).
BOOST_AUTO_TEST_CASE(paths_that_are_not_regular_files) {
    mlp::parameters<float> p, q;
    mg::random_generator g(3);
    mg::initialize(p, mg::glorot_normal{}, g);
    const std::string saved = test_files::path("piped.safetensors");
    mg::save_parameters(saved, p);
    const std::string bytes = test_files::read(saved);

    // A pipe is read to its end, as a file is.
    {
        test_files::fifo pipe("parameters.fifo", bytes);
        mg::load_parameters(pipe.path(), q);
        BOOST_TEST((p == q));
    }
    // /dev/stdin (and so a shell's <(...), also a pipe).
    {
        int ends[2];
        BOOST_REQUIRE(::pipe(ends) == 0);
        const int saved_stdin = ::dup(0);
        ::dup2(ends[0], 0);
        ::close(ends[0]);
        BOOST_REQUIRE(::write(ends[1], bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
        ::close(ends[1]);
        mlp::parameters<float> r;
        mg::load_parameters("/dev/stdin", r);
        ::dup2(saved_stdin, 0);
        ::close(saved_stdin);
        BOOST_TEST((p == r));
    }
    const std::string directory = test_files::path("a-directory.safetensors");
    ::mkdir(directory.c_str(), 0700);
    expect_error(load(directory), {"a-directory.safetensors", "opening", "a file, a pipe or a device", "found a directory"});
    expect_error(load("/dev/null"), {"/dev/null", "at byte 0", "8-byte header length", "found 0 bytes in all"});
    expect_error(load(test_files::write("empty.st", "")), {"empty.st", "at byte 0", "8-byte header length", "found 0 bytes in all"});
    {
        test_files::fifo pipe("short.fifo", bytes.substr(0, 5));
        expect_error(load(pipe.path()), {"short.fifo", "8-byte header length", "found 5 bytes in all"});
    }
    {
        test_files::fifo pipe("truncated.fifo", bytes.substr(0, bytes.size() - 10));
        expect_error([&] { mg::load_parameters(pipe.path(), q); }, {"truncated.fifo", "tensor '2.bias'", "within the " + std::to_string(mlp::parameters<float>::count * 4 - 10) + "-byte data area"});
    }
    expect_error([&] { mg::load_parameters(test_files::write("truncated.st", bytes.substr(0, 100)), q); },
                 {"truncated.st", "at byte 0", "a header length within the file's 92 remaining bytes"});
}

// The memory a reader may take is the user's to set; a failed allocation is an io_error.
BOOST_AUTO_TEST_CASE(the_read_limit_and_allocation_failures) {
    const std::string good = "{" + weight + "," + bias + "}";
    const std::string file = with_header("limited.st", good, data);
    const std::string bytes = test_files::read(file);
    {
        test_files::read_limit limit(bytes.size() - 1);
        expect_error(load(file), {"limited.st", "opening", "at most " + std::to_string(bytes.size() - 1) + " bytes to read",
                                  "set_max_read_bytes", "a file of this size: " + std::to_string(bytes.size()) + " bytes"});
        test_files::fifo pipe("limited.fifo", bytes);  // no size to query: refused once read past the limit
        expect_error(load(pipe.path()), {"limited.fifo", "at most " + std::to_string(bytes.size() - 1) + " bytes to read"});
    }
    {
        test_files::read_limit limit(bytes.size());
        BOOST_CHECK_NO_THROW(load(file)());
    }
    // A 400 KB file, read while no block over 100 KB can be had.
    const std::string big = with_header("big.st", "{" + entry("x", "F32", "[100000]", 0, 400000) + "}", std::string(400000, '\0'));
    test_allocations::watch allocations(100000);
    expect_error([&] { (void)mg::safetensors_file::read(big); }, {"big.st", "reading", "memory for its data", "allocation failure (std::bad_alloc)"});
}

BOOST_AUTO_TEST_CASE(bytes_in_memory_read_as_the_file_does) {
    const std::string file = with_header("memory.st", "{" + weight + "," + bias + "}", data);
    const auto a = mg::safetensors_file::read(file), b = mg::safetensors_file::from_bytes(test_files::read(file), "memory.st");
    BOOST_TEST(a.entries().size() == 2u);
    BOOST_TEST((a.entries().at("0.weight").end == b.entries().at("0.weight").end));
    expect_error([] { (void)mg::safetensors_file::from_bytes("abc", "named.st"); }, {"named.st", "8-byte header length", "3 bytes"});
}

// Saves replace the file durably: write "X.partial", fsync it, rename it to X, fsync X's directory
// (issue 12, finding 7: saves never synced, so a power loss could leave neither file). fsync is
// interposed here to record what was synced and what X held at that moment.
namespace {
struct sync_record {
    std::string path, target;
};
bool recording = false;
std::string recorded_target;
std::vector<sync_record> syncs;
}  // namespace

extern "C" int fsync(int fd) {
    if (recording) {
        char link[64], target[4096] = {};
        std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        const ssize_t n = ::readlink(link, target, sizeof target - 1);
        syncs.push_back({n > 0 ? std::string(target, static_cast<std::size_t>(n)) : "?", test_files::read(recorded_target)});
    }
    return static_cast<int>(::syscall(SYS_fsync, fd));
}

BOOST_AUTO_TEST_CASE(a_save_syncs_the_file_then_the_directory) {
    small::parameters<float> old_p, new_p;
    new_p.layer<0>().bias[0] = 1;
    const std::string path = test_files::path("synced.safetensors");
    mg::save_parameters(path, old_p);
    const std::string old_bytes = test_files::read(path);
    recorded_target = path;
    syncs.clear();
    recording = true;
    mg::save_parameters(path, new_p);
    recording = false;
    const std::string new_bytes = test_files::read(path);
    BOOST_TEST(new_bytes != old_bytes);
    BOOST_REQUIRE(syncs.size() == 2u);
    // First the partial file, while the target still holds the previous save ...
    const std::string directory = std::filesystem::canonical(METAGRAD_TEST_OUTPUT).string();  // as /proc names it
    BOOST_TEST(syncs[0].path == directory + "/synced.safetensors.partial");
    BOOST_TEST((syncs[0].target == old_bytes));
    // ... then the directory, after the rename.
    BOOST_TEST(syncs[1].path == directory);
    BOOST_TEST((syncs[1].target == new_bytes));
    BOOST_TEST(::access((path + ".partial").c_str(), F_OK) != 0);
}

// Issue 12, finding 7: after a failed save, "X.partial" stayed behind (and kept a full disk full).
// Every failure now removes it and keeps the previous file as it was.
BOOST_AUTO_TEST_CASE(a_failed_save_leaves_no_partial_file_and_the_previous_file_intact) {
    small::parameters<float> old_p, new_p;
    new_p.layer<0>().bias[0] = 1;
    const auto partial_absent = [](const std::string& path) { return ::access((path + ".partial").c_str(), F_OK) != 0; };

    // A directory that does not exist: nothing can be created.
    const std::string nowhere = test_files::path("no-such-directory/model.safetensors");
    expect_error([&] { mg::save_parameters(nowhere, new_p); }, {"no-such-directory/model.safetensors.partial", "creating", "No such file or directory"});
    BOOST_TEST(partial_absent(nowhere));

    // The target is a directory: the rename fails after the partial file was written.
    const std::string directory = test_files::path("target-is-a-directory");
    ::mkdir(directory.c_str(), 0700);
    expect_error([&] { mg::save_parameters(directory, new_p); }, {"target-is-a-directory", "renaming", "Is a directory"});
    BOOST_TEST(partial_absent(directory));
    struct stat status {};
    BOOST_TEST((::stat(directory.c_str(), &status) == 0 && S_ISDIR(status.st_mode)));

    // The partial file's name is taken (by a directory): refused, and the previous file kept.
    const std::string blocked = test_files::path("blocked.safetensors");
    mg::save_parameters(blocked, old_p);
    const std::string old_bytes = test_files::read(blocked);
    ::mkdir((blocked + ".partial").c_str(), 0700);
    expect_error([&] { mg::save_parameters(blocked, new_p); }, {"blocked.safetensors.partial", "creating", "Is a directory"});
    BOOST_TEST((test_files::read(blocked) == old_bytes));
    ::rmdir((blocked + ".partial").c_str());

    // The disk fills during the write (a file size limit stands in for it): the partial file is
    // removed, the previous file kept.
    const std::string full = test_files::path("full-disk.safetensors");
    mg::save_parameters(full, old_p);
    const std::string full_old = test_files::read(full);
    rlimit saved{};
    BOOST_REQUIRE(::getrlimit(RLIMIT_FSIZE, &saved) == 0);
    std::signal(SIGXFSZ, SIG_IGN);  // write then fails with EFBIG instead of killing the process
    rlimit small_files = saved;
    small_files.rlim_cur = 20;
    BOOST_REQUIRE(::setrlimit(RLIMIT_FSIZE, &small_files) == 0);
    try {
        mg::save_parameters(full, new_p);
        BOOST_ERROR("a save past the file size limit succeeded");
    } catch (const mg::io_error& e) {
        ::setrlimit(RLIMIT_FSIZE, &saved);
        const std::string what = e.what();
        BOOST_TEST(what.find("full-disk.safetensors.partial: at byte 20: expected room to write") != std::string::npos, what);
        BOOST_TEST(what.find("the previous file is unchanged") != std::string::npos, what);
    }
    ::setrlimit(RLIMIT_FSIZE, &saved);
    BOOST_TEST(partial_absent(full));
    BOOST_TEST((test_files::read(full) == full_old));
}
