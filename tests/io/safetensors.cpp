// Tests of include/metagrad/io/safetensors.hpp and checkpoint.hpp: round trips, a model written
// by PyTorch (tests/fixtures) reproducing PyTorch's outputs, and a clear error for every
// malformed or hostile file tried.
#include <cstdint>
#include <string>

#include <boost/test/unit_test.hpp>

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
