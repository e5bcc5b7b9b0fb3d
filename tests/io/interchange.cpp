// The C++ side of the safetensors interchange tests (tests/python/test_safetensors.py): a small
// CNN whose parameters this program saves and loads with metagrad, so that files written by
// python/metagrad_safetensors.py are read by metagrad and files metagrad writes are read by it.
//
//   safetensors_interchange save PARAMETERS             seeded parameters, batch norm's state too
//   safetensors_interchange forward PARAMETERS IN OUT   loads PARAMETERS, reads "x" (4 x 5 x 4 x 2,
//                                                       F32) from IN, writes the inference output
//                                                       "y" (4 x 3) to OUT
//
// Exits with 1 and metagrad's message on a file it refuses, 2 on wrong arguments.
#include <cstdio>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "metagrad/metagrad.hpp"

namespace mg = metagrad;

namespace {
// [network]
// PyTorch's nn.Sequential(Conv2d(2, 4, 3, padding=1), BatchNorm2d(4), ReLU(), Flatten(),
// Linear(4 * 5 * 4, 3)): the same positions, so the same names. Images are 5 x 4 x 2, channels last.
using network = mg::network<mg::shape<5, 4, 2>, mg::conv2d<4, mg::kernel<3>, mg::padding<1>>, mg::batch_norm<>, mg::relu,
                            mg::flatten, mg::dense<3>>;
// [network]
using parameters = network::parameters<float>;

constexpr std::size_t batch = 4;

void save(const std::string& path) {
    auto p = std::make_unique<parameters>();
    mg::random_generator g(7);
    mg::initialize(*p, mg::glorot_normal{}, g);
    // Batch norm away from its defaults (scale 1, shift 0, statistics 0 and 1), so that a
    // converter that dropped or mixed them up would change the outputs.
    for (std::size_t c = 0; c < 4; ++c) {
        p->layer<1>().weight[c] = 0.75f + 0.25f * static_cast<float>(c);
        p->layer<1>().bias[c] = 0.1f * static_cast<float>(c) - 0.15f;
        p->state<1>().running_mean[c] = 0.05f * static_cast<float>(c + 1);
        p->state<1>().running_var[c] = 0.5f + 0.3f * static_cast<float>(c);
    }
    // [save]
    mg::save_parameters(path, *p);  // PyTorch: metagrad_safetensors.load_state_dict(path, ...)
    // [save]
}

void forward(const parameters& p, const mg::safetensors_file& in, const std::string& out_path) {
    auto x = std::make_unique<mg::tensor<float, mg::shape<batch, 5, 4, 2>>>();
    in.copy_to("x", *x);
    const auto y = network::forward(p, *x);
    mg::safetensors_writer out;
    out.add("y", y);
    out.write(out_path);
}
}  // namespace

int main(int argc, char** argv) {
    const std::vector<std::string> args(argv + 1, argv + argc);
    try {
        if (args.size() == 2 && args[0] == "save") {
            save(args[1]);
            return 0;
        }
        if (args.size() == 4 && args[0] == "forward") {
            auto p = std::make_unique<parameters>();
            // [load]
            mg::load_parameters(args[1], *p);  // written by metagrad_safetensors.save_state_dict(...)
            // [load]
            forward(*p, mg::safetensors_file::read(args[2]), args[3]);
            return 0;
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "safetensors_interchange: %s\n", e.what());
        return 1;
    }
    std::fprintf(stderr, "usage: safetensors_interchange save PARAMETERS | forward PARAMETERS IN OUT\n");
    return 2;
}
