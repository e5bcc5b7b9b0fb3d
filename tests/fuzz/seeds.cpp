// Writes the fuzz harnesses' seed corpus: for each reader a few valid files, written by metagrad
// itself where it writes the format, and a few broken ones. Usage: fuzz_seeds DIRECTORY (it fills
// DIRECTORY/idx, idx_gzip, csv, safetensors and checkpoint). tests/fuzz/corpus/ holds its output;
// the short fuzz runs of the test suite add a fresh copy, so that checkpoint seeds follow the format.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include <zlib.h>

#include "metagrad/metagrad.hpp"

namespace mg = metagrad;
namespace fs = std::filesystem;

namespace {
fs::path root;

void write(const std::string& harness, const std::string& name, const std::string& bytes) {
    fs::create_directories(root / harness);
    std::ofstream(root / harness / name, std::ios::binary | std::ios::trunc) << bytes;
}
std::string read(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}
std::string gzip(const std::string& bytes) {
    const std::string p = (root / "tmp.gz").string();
    gzFile f = gzopen(p.c_str(), "wb9");
    gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
    gzclose(f);
    std::string out = read(p);
    fs::remove(p);
    return out;
}
std::string idx(std::initializer_list<std::uint32_t> extents, std::size_t data_bytes, char type = 8) {
    std::string out{0, 0, type, static_cast<char>(extents.size())};
    for (const std::uint32_t e : extents)
        for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>(e >> shift);
    for (std::size_t i = 0; i < data_bytes; ++i) out += static_cast<char>(i % 3);
    return out;
}

using net = mg::sequential<mg::input<2>, mg::dense<3>, mg::relu, mg::dense<2>>;
}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) return 2;
    root = argv[1];

    // IDX: images of 4-value samples, labels, a 1-D array; the same gzip-compressed; broken ones.
    const std::string images = idx({3, 2, 2}, 12), labels = idx({3}, 3), vector = idx({5}, 5);
    for (const auto& [name, bytes] : {std::pair{"images.idx", images}, {"labels.idx", labels}, {"vector.idx", vector}}) {
        write("idx", name, bytes);
        write("idx", std::string(name) + ".gz", gzip(bytes));
        write("idx_gzip", name, bytes);
    }
    write("idx", "truncated.idx", images.substr(0, 15));
    write("idx", "extra.idx", images + "x");
    write("idx", "floats.idx", idx({2}, 8, 0x0d));
    write("idx", "huge.idx", idx({0xffffffffu, 0xffffffffu}, 4));
    write("idx", "cut.idx.gz", gzip(images).substr(0, 20));
    write("idx", "two-members.idx.gz", gzip(images.substr(0, 9)) + gzip(images.substr(9)));
    write("idx_gzip", "short-header.idx", images.substr(0, 6));

    // CSV: plain, scikit-learn's header, ';' with a header line; broken ones.
    write("csv", "plain.csv", "1.5,-2,1\n3e2, 4 ,0\r\n\n0,0,2\n");
    write("csv", "sklearn.csv", "2,3,a,b\n1,2,3,0\n4,5,6,1\n");
    write("csv", "semicolon.csv", "x;label\n0.5;3\n-1;0\n");
    write("csv", "fields.csv", "1,2,0\n1,2\n");
    write("csv", "nan.csv", "nan,2,0\ninf,1,1\n");
    write("csv", "label.csv", "1,2,3\n1,2,1.5\n");

    // safetensors: parameters and a tensor file written by metagrad; broken ones.
    net::parameters<float> p;
    mg::random_generator g(1);
    mg::initialize(p, mg::glorot_normal{}, g);
    const fs::path params = root / "safetensors" / "parameters.safetensors";
    fs::create_directories(root / "safetensors");
    mg::save_parameters(params.string(), p);
    const std::string saved = read(params);
    mg::safetensors_writer w;
    mg::tensor<float, mg::shape<2>> a{{1, 2}};
    mg::tensor<double, mg::shape<1, 2>> b{{3, 4}};
    w.add("a", a);
    w.add("b", b);
    w.set_metadata("note", "two tensors");
    w.write((root / "safetensors" / "two.safetensors").string());
    write("safetensors", "truncated.safetensors", saved.substr(0, saved.size() - 3));
    write("safetensors", "short.safetensors", saved.substr(0, 5));
    std::string length = saved;
    length[0] = static_cast<char>(0xff);
    write("safetensors", "length.safetensors", length);

    // Checkpoints of the harness's network with Adam; broken ones.
    mg::adam<net, float> optimizer{mg::adam_options<float>{.learning_rate = 0.01f}};
    optimizer.steps = 3;
    mg::training_position position{.step = 3, .epoch = 1, .shuffle = mg::random_generator(5), .stopping = {.patience = 4}};
    position.curves.add({1, 0.5, 0.75, 0.6, 0.7, 0.01, 0, 0});
    const fs::path checkpoint = root / "checkpoint" / "adam.safetensors";
    fs::create_directories(root / "checkpoint");
    mg::save_checkpoint(checkpoint.string(), p, optimizer, position);
    const std::string saved_checkpoint = read(checkpoint);
    write("checkpoint", "parameters.safetensors", saved);
    write("checkpoint", "truncated.safetensors", saved_checkpoint.substr(0, saved_checkpoint.size() / 2));
    std::string steps = saved_checkpoint;
    if (const auto at = steps.find("\"optimizer.steps\":\"3\""); at != std::string::npos) steps[at + 19] = 'x';
    write("checkpoint", "steps.safetensors", steps);
    return 0;
}
